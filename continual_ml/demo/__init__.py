"""The demo's synthetic stream and traffic: one user of the product, not part of it."""
