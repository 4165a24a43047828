"""The demo: its synthetic stream, its traffic and the driver that plays the scenario through
the loop. One user of the product, not part of it: production code never imports it."""
