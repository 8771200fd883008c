"""SavingsLedger: samples and iterations trained and saved."""
import pytest

from mmib.core import SavingsLedger


def test_ledger_counts_and_savings():
    ledger = SavingsLedger()
    for _ in range(3):
        ledger.record_step(32, 0, 2)
    ledger.record_step(4, 2, 1)
    ledger.unscored += 1
    ledger.end_pass()
    s = ledger.savings(num_samples=200)
    assert s['samples_trained'] == 100 and s['padding_samples'] == 2
    assert s['samples_full'] == 200 and s['saved_samples'] == 0.5
    assert s['iters_trained'] == 4 and s['iters_full'] == 7
    assert s['saved_iters'] == pytest.approx(1 - 4 / 7)
    assert ledger.unscored == 1
    half = ledger.savings(num_samples=200, current_pass_fraction=0.5)
    assert half['samples_full'] == 300
    other = SavingsLedger()
    other.load_state_dict(ledger.state_dict())
    assert other == ledger
    assert SavingsLedger().savings(0)['saved_samples'] == 0.0
