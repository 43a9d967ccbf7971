// Boost.JSON's implementation, compiled once for the network client (header-only use: no
// Boost library to link, so the wheel keeps no runtime dependency).
#include <boost/json/src.hpp>
