"""The emulator answers like Google: replaying gspread's recordings of real Google answers."""

from __future__ import annotations

from tests.fidelity import run

TARGET = 0.95


def test_the_emulator_reproduces_googles_recorded_answers(shared_data):
    results = run(shared_data / "gspread-cassettes")
    total = sum(r.total for r in results)
    same = sum(r.same for r in results)
    assert total > 900, "the recordings were all replayed"
    worst = sorted(results, key=lambda r: r.share)[:3]
    assert same / total >= TARGET, (
        f"{same}/{total} reproduced; worst: {[(r.cassette, r.share) for r in worst]}"
    )
    # No cassette may be mostly wrong: the emulator must behave like Google in general.
    assert all(r.share >= 0.7 for r in results), [(r.cassette, r.share) for r in results]
