"""The command line's sweep: whose resources it looks for."""

from __future__ import annotations

import pytest

from labkit import __main__ as cli
from labkit import sweep


@pytest.mark.parametrize("argv, every", [([], False), (["--every-learner"], True)])
def test_sweep_looks_for_one_learner_unless_told_every_learner(monkeypatch, capsys, argv,
                                                                every):
    seen = {}

    def find(lab, only_lab=None, *, kinds=None, every_learner=False):
        seen.update(only_lab=only_lab, every_learner=every_learner, learner=lab.learner)
        return [], []

    monkeypatch.setattr(sweep, "find_everything", find)
    assert cli.main(["sweep", "--dry-run", "--lab", "06-x", *argv]) == 0
    assert seen == {"only_lab": "06-x", "every_learner": every, "learner": "local"}
    out = capsys.readouterr().out
    assert ("every learner" in out) is every and ("learner local" in out) is not every
