"""The folding engine: where each event goes, the ledgers it is filed in, and the views each
entity shows. Pure: all state lives behind :class:`~sitrep.engine.keyvalue.KeyValue`, and the
worker and the API drive the same engine."""
