"""How the champion does on each batch: drift, estimated and realized performance, traffic."""
