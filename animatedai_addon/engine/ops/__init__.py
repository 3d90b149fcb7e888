"""One module per operation: its spec class and checks, shape rule, planner, cube count, virtual grid,
label, and panel forms. ``engine/registry.py`` lists the modules; see docs/DESIGN.md, "Adding an operation"."""
