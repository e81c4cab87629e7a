"""The teaching layer: figures, the live panel, the book's helpers, exercise checkers, schematics."""
