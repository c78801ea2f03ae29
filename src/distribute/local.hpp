#pragma once

#include <memory>
#include <string>

#include "distribute/communicator.hpp"

namespace tapeflow::distribute::detail {

/// What started this process: the number of processes its launcher started (0: no launcher) and
/// the launcher's name, read from the environment variables launchers set.
struct LaunchInfo {
  int processes = 0;
  std::string launcher;
};
LaunchInfo launcher_world();

/// A group of one process (rank 0 of 1); collectives copy their input.
std::shared_ptr<Communicator> make_local_communicator();

}  // namespace tapeflow::distribute::detail
