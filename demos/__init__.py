"""The lecture as runnable demos: each module is a short script and a `tinygrad-edu` subcommand."""
