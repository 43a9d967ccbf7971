"""MLPerf Inference load generator."""

from loadgen._core import (
    ConstructFastSUT as ConstructFastSUT,
)
from loadgen._core import (
    ConstructQDL as ConstructQDL,
)
from loadgen._core import (
    ConstructQSL as ConstructQSL,
)
from loadgen._core import (
    ConstructSUT as ConstructSUT,
)
from loadgen._core import (
    DestroyFastSUT as DestroyFastSUT,
)
from loadgen._core import (
    DestroyQDL as DestroyQDL,
)
from loadgen._core import (
    DestroyQSL as DestroyQSL,
)
from loadgen._core import (
    DestroySUT as DestroySUT,
)
from loadgen._core import (
    FirstTokenComplete as FirstTokenComplete,
)
from loadgen._core import (
    LoggingMode as LoggingMode,
)
from loadgen._core import (
    LogOutputSettings as LogOutputSettings,
)
from loadgen._core import (
    LogSettings as LogSettings,
)
from loadgen._core import (
    QuerySample as QuerySample,
)
from loadgen._core import (
    QuerySampleResponse as QuerySampleResponse,
)
from loadgen._core import (
    QuerySamplesComplete as QuerySamplesComplete,
)
from loadgen._core import (
    StartTest as StartTest,
)
from loadgen._core import (
    StartTestWithLogSettings as StartTestWithLogSettings,
)
from loadgen._core import (
    TestMode as TestMode,
)
from loadgen._core import (
    TestScenario as TestScenario,
)
from loadgen._core import (
    TestSettings as TestSettings,
)
from loadgen._core import (
    VectorQuerySample as VectorQuerySample,
)
from loadgen._core import (
    VectorQuerySampleResponse as VectorQuerySampleResponse,
)

__all__ = [
    "ConstructFastSUT",
    "ConstructQDL",
    "ConstructQSL",
    "ConstructSUT",
    "DestroyFastSUT",
    "DestroyQDL",
    "DestroyQSL",
    "DestroySUT",
    "FirstTokenComplete",
    "LogOutputSettings",
    "LogSettings",
    "LoggingMode",
    "QuerySample",
    "QuerySampleResponse",
    "QuerySamplesComplete",
    "StartTest",
    "StartTestWithLogSettings",
    "TestMode",
    "TestScenario",
    "TestSettings",
    "VectorQuerySample",
    "VectorQuerySampleResponse",
]
