"""A NuGet client's run on mono tells mono's own crash (MonoCrashed, which runs the
test once more) from every other outcome, which the test judges as it is."""

import signal
import subprocess

import pytest

from tests.client.conftest import MonoCrashed, ran

BANNER = "=================\n\tNative Crash Reporting\n=================\n"


def completed(returncode, stdout="", stderr=""):
    return subprocess.CompletedProcess(["mono", "nuget.exe", "push"], returncode, stdout, stderr)


@pytest.mark.parametrize("returncode", [-signal.SIGABRT, 128 + signal.SIGABRT])
@pytest.mark.parametrize("where", ["stdout", "stderr"])
def test_an_abort_with_monos_crash_report_is_mono_crashing(returncode, where):
    with pytest.raises(MonoCrashed, match="Your package was pushed"):
        ran(completed(returncode, **{where: "Your package was pushed.\n" + BANNER}))


@pytest.mark.parametrize(
    "result",
    [
        completed(0, "Your package was pushed.\n"),
        completed(1, "Response status code does not indicate success: 403\n"),
        completed(1, "", BANNER),  # a failure that prints the words is still judged
        completed(-signal.SIGABRT, "", "Aborted\n"),  # an abort without mono's report too
        completed(-signal.SIGKILL, "", BANNER),
    ],
)
def test_every_other_outcome_is_the_clients_answer(result):
    assert ran(result) is result
