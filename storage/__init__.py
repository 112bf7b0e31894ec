"""Storage: models, database set-up, queries, audit, areas, blobs and migrations."""
