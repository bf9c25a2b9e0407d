import datetime as dt

from labcloud.persistence.store import Store


def test_records_round_trip_with_datetimes(tmp_path):
    store = Store(tmp_path, "sagemaker")
    when = dt.datetime(2026, 11, 27, 12, 0, 1, tzinfo=dt.timezone.utc)
    store.save("training-jobs", "job/with:odd name", {"Name": "a", "CreationTime": when, "Items": [1, {"T": when}]})
    loaded = Store(tmp_path, "sagemaker").load_all("training-jobs")
    assert loaded == {"job/with:odd name": {"Name": "a", "CreationTime": when, "Items": [1, {"T": when}]}}


def test_delete_and_missing_kind(tmp_path):
    store = Store(tmp_path, "sagemaker")
    store.save("endpoints", "e1", {"x": 1})
    store.delete("endpoints", "e1")
    store.delete("endpoints", "never-there")
    assert store.load_all("endpoints") == {}
    assert store.load_all("models") == {}


def test_without_state_dir_nothing_is_kept():
    store = Store(None, "sagemaker")
    store.save("training-jobs", "a", {"x": 1})
    assert store.load_all("training-jobs") == {}


def test_a_write_replaces_the_record_whole(tmp_path):
    store = Store(tmp_path, "sagemaker")
    store.save("models", "m", {"v": 1})
    store.save("models", "m", {"v": 2})
    assert store.load_all("models") == {"m": {"v": 2}}
    assert not list((tmp_path / "sagemaker" / "models").glob("*.tmp*"))
