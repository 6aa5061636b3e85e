import typer


def register(app: typer.Typer) -> None:
    """Adds this domain's commands to ``oip``."""
