"""The cars resource: validation and representation (model), data access (store), HTTP (views)."""
