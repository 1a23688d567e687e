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


def test_images_builds_every_course_image_and_stages_wheels_first(monkeypatch, capsys,
                                                                    tmp_path):
    from labkit import docker, images, paths
    from labkit.docker import BuiltImage
    from labkit.errors import LabKitError

    for name, files in (("plain", ["Dockerfile"]), ("with-wheels", ["Dockerfile", "wheels.txt"]),
                        ("notes-only", ["README.md"])):
        (tmp_path / name).mkdir()
        for file in files:
            (tmp_path / name / file).write_text("x\n")
    built = []

    def fake(how):
        def build(name, **kwargs):
            built.append((how, name))
            if name == "broken":
                raise LabKitError("Building the image failed: no space left", "free space")
            return BuiltImage(tag=f"mlecourse/{name}:abc", seconds=1.0, base_image="b")
        return build

    monkeypatch.setattr(paths, "CONTAINERS_DIR", tmp_path)
    monkeypatch.setattr(docker, "build_image", fake("plain"))
    monkeypatch.setattr(images, "build_with_wheels", fake("wheels"))
    assert cli.main(["images"]) == 0
    assert built == [("plain", "plain"), ("wheels", "with-wheels")]
    assert "mlecourse/with-wheels:abc  1 s" in capsys.readouterr().out

    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "Dockerfile").write_text("FROM scratch\n")
    built.clear()
    assert cli.main(["images"]) == 2  # a failure stops it, with Docker's message
    assert built == [("plain", "broken")]  # sorted first: nothing is built after it
    assert "no space left" in capsys.readouterr().err
