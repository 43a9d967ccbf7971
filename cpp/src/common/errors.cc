// Key functions of the public exception types (loadgen/errors.h): their vtables and type
// information are emitted once, here, and exported, so a harness catches them by type across
// the shared library's boundary.
#include "loadgen/errors.h"

namespace loadgen {

Error::~Error() = default;
SettingsError::~SettingsError() = default;
TestAborted::~TestAborted() = default;
LogError::~LogError() = default;
TestAlreadyRunningError::~TestAlreadyRunningError() = default;

}  // namespace loadgen
