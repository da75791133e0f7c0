"""The development signing key: made once per data dir, whole, even by workers starting at once."""

from __future__ import annotations

import stat
import threading

from resolution.service import signing


def test_workers_starting_together_share_one_whole_key(tmp_path):
    for attempt in range(20):
        data_dir = tmp_path / str(attempt)
        keys, errors = [], []

        def start(data_dir=data_dir, keys=keys, errors=errors):
            try:
                keys.append(signing.public_key(signing.load(None, data_dir)))
            except Exception as error:  # noqa: BLE001 - any failure is the finding
                errors.append(error)

        workers = [threading.Thread(target=start) for _ in range(8)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        assert errors == [] and len(set(keys)) == 1
        assert [p.name for p in data_dir.iterdir()] == [signing.DEV_KEY_FILE]
        assert stat.S_IMODE((data_dir / signing.DEV_KEY_FILE).stat().st_mode) == 0o600
