"""The correction loop: annotation-tool formats (Label Studio, doccano, Prodigy) and the export of
records as tasks and the import of reviewed tasks as a training corpus."""
