"""The API's read model on disk: a store another version of the code wrote is not read on
(what it derived may lack what this version derives, such as who wrote each event), but
dropped and made again from the log."""

from __future__ import annotations

from pathlib import Path

from sitrep.api.readmodel import FORMAT_KEY, ReadModel, open_read_model
from sitrep.contract import encode_event
from sitrep.stores.rocks import RocksKeyValue
from tests.seeded import seed_events, seed_gazetteer


def _close(model: ReadModel) -> None:
    model.commit()
    assert model.on_close is not None
    model.on_close()


def test_a_store_of_this_format_is_read_on_and_one_of_another_is_read_again(
    tmp_path: Path,
) -> None:
    root = tmp_path / "api"
    first = open_read_model(root, seed_gazetteer())
    for offset, event in enumerate(list(seed_events())[:5]):
        first.apply(0, offset, encode_event(event))
    _close(first)

    again = open_read_model(root, seed_gazetteer())
    assert again.freshness().position == {"0": 5}
    _close(again)

    kv = RocksKeyValue(root / "slot-0" / "model")
    kv.put(FORMAT_KEY, b"sitrep-readmodel-1")
    kv.commit()
    kv.close()
    older = open_read_model(root, seed_gazetteer())
    assert older.freshness().position == {}
    assert older.folded == 0
    _close(older)
