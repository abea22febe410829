"""The lock files, read offline: complete, exact, hashed, and consistent with each other.

`make lock-verify` (part of `make test`) runs the same offline checks; `make lock-check`
additionally resolves each input again against the index, outside `make test`.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from scripts import locks

REPO = Path(__file__).resolve().parents[2]
HASH = "--hash=sha256:" + "ab" * 32


def pins(path: Path) -> dict[str, locks.Pin]:
    found, problems = locks.read_lock(path.read_text(encoding="utf-8"), path.name)
    assert problems == []
    return found


def test_the_repository_and_this_environment_pass_the_offline_verification() -> None:
    assert locks.verify() == []


@pytest.mark.parametrize("lock", locks.LOCKS, ids=lambda lock: lock.output)
def test_every_locked_package_is_pinned_exactly_with_hashes(lock: locks.Lock) -> None:
    found = pins(REPO / lock.output)
    assert found
    assert all(pin.hashes >= 1 for pin in found.values())


@pytest.fixture
def repo_copy(tmp_path: Path) -> Path:
    for lock in locks.LOCKS:
        for name in (lock.source, lock.output):
            (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(REPO / name, tmp_path / name)
    return tmp_path


def installed_as_locked(repo: Path) -> dict[str, str]:
    return {name: pin.version for name, pin in pins(repo / "requirements-dev.txt").items()}


def replace(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_a_copy_of_the_repository_verifies(repo_copy: Path) -> None:
    assert locks.verify(repo_copy, installed_as_locked(repo_copy)) == []


def test_a_lock_that_misses_a_requirement_fails(repo_copy: Path) -> None:
    installed = installed_as_locked(repo_copy)
    (repo_copy / "requirements-dev.in").write_text(
        (repo_copy / "requirements-dev.in").read_text(encoding="utf-8") + "not-a-locked-pkg>=1\n",
        encoding="utf-8",
    )
    assert locks.verify(repo_copy, installed) == [
        "requirements-dev.txt: not-a-locked-pkg>=1 is not pinned"
    ]


def test_a_requirement_for_another_platform_needs_no_pin(repo_copy: Path) -> None:
    installed = installed_as_locked(repo_copy)
    (repo_copy / "requirements.in").write_text(
        (repo_copy / "requirements.in").read_text(encoding="utf-8")
        + "pywin32>=300; sys_platform == 'win32'\n",
        encoding="utf-8",
    )
    assert locks.verify(repo_copy, installed) == []


def test_a_pin_the_input_excludes_fails(repo_copy: Path) -> None:
    installed = installed_as_locked(repo_copy)
    httpx = installed["httpx"]
    replace(repo_copy / "requirements.in", f"httpx=={httpx}", f"httpx>{httpx}")
    problems = locks.verify(repo_copy, installed)
    assert problems == [
        f"requirements.txt: httpx=={httpx} does not satisfy httpx>{httpx}",
        f"requirements-dev.txt: httpx=={httpx} does not satisfy httpx>{httpx}",
    ]


def test_a_pin_without_hashes_fails(repo_copy: Path) -> None:
    lock = repo_copy / "requirements.txt"
    text = lock.read_text(encoding="utf-8")
    version = pins(lock)["httpx"].version
    # Drop httpx's hash lines: the pin stays, its hashes go.
    text = re.sub(
        rf"^httpx=={re.escape(version)} \\\n(    --hash=sha256:[0-9a-f]+(?: \\)?\n)+",
        f"httpx=={version}\n",
        text,
        flags=re.MULTILINE,
    )
    lock.write_text(text, encoding="utf-8")
    problems = locks.verify(repo_copy, installed_as_locked(repo_copy))
    assert problems == [f"requirements.txt: httpx=={version} has no hash"]


def test_a_range_in_a_lock_is_malformed() -> None:
    found, problems = locks.read_lock(f"anyio>=4 \\\n    {HASH}\n", "x.txt")
    assert found == {}
    assert problems == [
        "x.txt:1: not an exact pin or a sha256 hash: 'anyio>=4 \\\\'",
        f"x.txt:2: not an exact pin or a sha256 hash: {HASH!r}",
    ]


def test_the_dev_lock_must_hold_the_runtime_versions(repo_copy: Path) -> None:
    installed = installed_as_locked(repo_copy)
    version = installed["anyio"]
    replace(repo_copy / "requirements-dev.txt", f"anyio=={version} ", "anyio==0.0.1 ")
    installed["anyio"] = "0.0.1"
    assert locks.verify(repo_copy, installed) == [
        f"anyio: requirements.txt pins {version}, requirements-dev.txt 0.0.1"
    ]


def test_the_environment_must_be_exactly_the_dev_lock(repo_copy: Path) -> None:
    installed = installed_as_locked(repo_copy)
    installed["httpx"] = "0.0.1"
    installed["left-behind"] = "1.0"
    installed["pip"] = "99.0"
    del installed["anyio"]
    locked = pins(repo_copy / "requirements-dev.txt")
    assert locks.verify(repo_copy, installed) == [
        f"anyio=={locked['anyio'].version} is locked but not installed",
        f"httpx=={locked['httpx'].version} is locked but 0.0.1 is installed",
        "left-behind==1.0 is installed but not locked",
    ]


def test_the_dev_lock_has_exactly_the_runtime_versions() -> None:
    runtime = pins(REPO / "requirements.txt")
    dev = pins(REPO / "requirements-dev.txt")
    assert {name: dev[name] for name in runtime if name in dev}.keys() == runtime.keys()
    assert all(dev[name].version == pin.version for name, pin in runtime.items())


def test_the_lock_contains_the_transitive_packages() -> None:
    # The remote build must not resolve anything itself: azure-core, msal, cryptography,
    # pydantic-core and the rest are pinned here, not found at deploy time.
    runtime = pins(REPO / "requirements.txt")
    for name in ("azure-core", "msal", "cryptography", "pydantic-core", "httpcore", "anyio"):
        assert name in runtime, name
    assert len(runtime) > len(locks.read_input(REPO / "requirements.in"))


def test_the_dev_input_is_constrained_by_the_runtime_lock() -> None:
    lines = (REPO / "requirements-dev.in").read_text(encoding="utf-8").splitlines()
    assert "-c requirements.txt" in lines
    assert "-r requirements.in" in lines


def test_make_installs_from_the_locks_with_hashes() -> None:
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    stamp = re.search(r"^\$\(STAMP\):(.*)$", makefile, re.MULTILINE)
    assert stamp is not None
    assert set(stamp.group(1).split()) == {"requirements.txt", "requirements-dev.txt"}
    assert "--require-hashes" in makefile
    test = re.search(r"^test:(.*)$", makefile, re.MULTILINE)
    assert test is not None
    # The offline verification is part of the test command; the re-resolution is not.
    assert "lock-verify" in test.group(1).split()
    assert "lock-check" not in test.group(1).split()


def test_the_header_is_all_that_the_comparison_ignores() -> None:
    text = "# generated by\n#    make lock\nanyio==4.0 \\\n    --hash=sha256:ab\n    # via x\n"
    assert locks.without_header(text) == ["anyio==4.0 \\", "    --hash=sha256:ab", "    # via x"]
    assert locks.without_header("# only a header\n") == []
