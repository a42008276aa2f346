"""Pure logic: contract models, forms, patches, secrets. No I/O, no Textual."""
