#include <tapeflow/tapeflow.hpp>
