"""Exit codes and the errors that carry them: each failure the command knows ends as one line."""

EXIT_OK = 0  # success, or nothing to change
EXIT_FAILED = (
    1  # the deployment failed: rolled back, timed out, deletion failed, /version never matched
)
EXIT_REFUSED = 2  # bad input, a refused change, or AWS said no (credentials, region, no such stack)
EXIT_ABORTED = 130  # Ctrl-C, or a declined confirmation (128 + SIGINT, as shells report it)


class CarsStackError(Exception):
    """An expected failure: printed as one line (plus optional hints), never as a traceback."""

    exit_code = EXIT_FAILED

    def __init__(self, message: str, *, hints: tuple[str, ...] = ()):
        super().__init__(message)
        self.message = message
        self.hints = hints


class BadInput(CarsStackError):
    exit_code = EXIT_REFUSED


class Refused(CarsStackError):
    exit_code = EXIT_REFUSED


class DeploymentFailed(CarsStackError):
    exit_code = EXIT_FAILED


class Aborted(CarsStackError):
    exit_code = EXIT_ABORTED
