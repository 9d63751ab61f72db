"""The result cache: keys, salts, atomic entries, corruption, the stat index."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mlgate.linters.atomic import write_atomic
from mlgate.linters.cache import CACHE_DIR, ObjectStore, StatIndex, content_key, open_cache, salt

OLD = 1_600_000_000_000_000_000


def _aged(path: Path, text: str) -> os.stat_result:
    path.write_text(text, encoding="utf-8")
    os.utime(path, ns=(OLD, OLD))
    return path.stat()


def test_keys_depend_on_path_and_content() -> None:
    assert content_key("a.py", b"x") == content_key("a.py", b"x")
    assert content_key("a.py", b"x") != content_key("b.py", b"x")
    assert content_key("a.py", b"x") != content_key("a.py", b"y")
    assert salt("config-1") == salt("config-1") != salt("config-2")


def test_store_and_load_round_trip(tmp_path: Path) -> None:
    cache = open_cache(tmp_path, "c")
    assert cache is not None
    cache.objects.store("ab12", [["a.py", 1, 0, "MLG101", "long"]])
    assert cache.objects.load("ab12") == [["a.py", 1, 0, "MLG101", "long"]]
    assert cache.objects.load("cd34") is None
    assert (tmp_path / CACHE_DIR / ".gitignore").read_text(encoding="utf-8") == "*\n"
    assert (
        (tmp_path / CACHE_DIR / "CACHEDIR.TAG")
        .read_text(encoding="utf-8")
        .startswith("Signature: 8a477f597d28d172789f06886806bc55")
    )
    again = open_cache(tmp_path, "c")
    assert again is not None
    assert again.objects == cache.objects


@pytest.mark.parametrize(
    "content", [b"{not json", b'{"key": "other", "payload": 1}', b"[1]", b'{"key": "ab12"}']
)
def test_corrupt_entries_are_discarded(tmp_path: Path, content: bytes) -> None:
    store = ObjectStore(tmp_path)
    store.store("ab12", "good")
    entry = tmp_path / "objects" / "ab" / "ab12.json"
    entry.write_bytes(content)
    assert store.load("ab12") is None
    assert not entry.exists()


def test_unreadable_entry_is_discarded(tmp_path: Path) -> None:
    store = ObjectStore(tmp_path)
    entry = tmp_path / "objects" / "ab" / "ab12.json"
    entry.mkdir(parents=True)
    assert store.load("ab12") is None


def test_stat_index_hits_only_unchanged_files(tmp_path: Path) -> None:
    source = tmp_path / "a.py"
    stat = _aged(source, "x = 1\n")
    index = StatIndex(tmp_path / "index.json")
    index.record("a.py", stat, "k1")
    index.save()
    again = StatIndex(tmp_path / "index.json")
    assert again.key_for("a.py", source.stat()) == "k1"
    assert again.key_for("b.py", source.stat()) is None
    changed = _aged(source, "x = 22\n")
    assert again.key_for("a.py", changed) is None


def test_recent_files_are_not_indexed(tmp_path: Path) -> None:
    source = tmp_path / "a.py"
    source.write_text("x = 1\n", encoding="utf-8")
    index = StatIndex(tmp_path / "index.json")
    index.record("a.py", source.stat(), "k1")
    index.save()
    assert not (tmp_path / "index.json").exists()


def test_index_written_only_when_changed(tmp_path: Path) -> None:
    stat = _aged(tmp_path / "a.py", "x = 1\n")
    index = StatIndex(tmp_path / "index.json")
    index.record("a.py", stat, "k1")
    index.save()
    os.utime(tmp_path / "index.json", ns=(OLD, OLD))
    index.record("a.py", stat, "k1")
    index.save()
    assert (tmp_path / "index.json").stat().st_mtime_ns == OLD


@pytest.mark.parametrize("content", [b"{broken", b"[]", b'{"a.py": [1, 2], "b.py": [1, 2, "k"]}'])
def test_corrupt_index_is_rebuilt(tmp_path: Path, content: bytes) -> None:
    (tmp_path / "index.json").write_bytes(content)
    assert StatIndex(tmp_path / "index.json").entries == (
        {"b.py": [1, 2, "k"]} if content.startswith(b'{"a') else {}
    )


def test_unreadable_index_is_rebuilt(tmp_path: Path) -> None:
    (tmp_path / "index.json").mkdir()
    assert StatIndex(tmp_path / "index.json").entries == {}


def test_failed_atomic_write_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "busy"
    target.mkdir()
    (target / "child").write_text("x", encoding="utf-8")
    with pytest.raises(OSError, match=r"Is a directory|Directory not empty"):
        write_atomic(target, b"data")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["busy"]


def test_atomic_write_keeps_or_sets_permissions(tmp_path: Path) -> None:
    script = tmp_path / "run.py"
    script.write_text("old", encoding="utf-8")
    script.chmod(0o755)
    write_atomic(script, b"new")
    write_atomic(tmp_path / "fresh.json", '{"é": 1}\n')
    assert (script.read_bytes(), script.stat().st_mode & 0o777) == (b"new", 0o755)
    assert (tmp_path / "fresh.json").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "fresh.json").read_bytes() == '{"é": 1}\n'.encode()


def test_unwritable_places_mean_no_cache_not_a_crash(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder", encoding="utf-8")
    assert open_cache(blocker, "c") is None
    store = ObjectStore(blocker)
    store.store("ab12", "payload")
    assert store.load("ab12") is None
    index = StatIndex(blocker / "index.json")
    index.record("a.py", _aged(tmp_path / "a.py", "x = 1\n"), "k1")
    index.save()
    assert index.changed
