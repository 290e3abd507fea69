"""Request ids: kept when they look like ids, else fresh and unique."""

from __future__ import annotations

from chassis import RequestIds


def test_request_ids_keep_a_valid_client_id_and_replace_anything_else() -> None:
    ids = RequestIds()
    assert ids.choose(b"client-123.abc:9") == "client-123.abc:9"
    fresh = ids.choose(b"not an id!")
    assert len(fresh) == 32
    assert int(fresh, 16) >= 0
    assert ids.choose(None) != ids.choose(None)
    assert len(ids.choose(b"x" * 129)) == 32
