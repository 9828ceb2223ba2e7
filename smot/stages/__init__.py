"""Stages of the smot pipeline, one module each: config, core generator, typer command."""
