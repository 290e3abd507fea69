"""The `bazaar` commands, one module per group; `bazaar_local.cli` registers them."""
