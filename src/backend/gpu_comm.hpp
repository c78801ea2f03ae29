#pragma once

// NCCL across processes through the CUDA plugin's optional comm entry points
// (src/backend/cuda_plugin.hpp), for MultiWorkerMirroredStrategy. Implemented in
// cuda_loader.cpp. Each call returns "" on success, else why it failed.

#include <cstddef>
#include <string>
#include <vector>

#include "tapeflow/dtype.hpp"

namespace tapeflow::detail {

/// Whether the CUDA plugin has a GPU and NCCL communicators across processes.
bool gpu_comm_available();
/// NCCL's unique id for a new communicator, made on one rank and sent to the others.
std::string gpu_comm_unique_id(std::vector<char>& id);
/// This process's member, rank `rank` of `ranks`, of the communicator `id` on GPU `device`;
/// returns once every rank has joined. The handle goes to `*comm`.
std::string gpu_comm_init(
    const std::vector<char>& id, int ranks, int rank, int device, void** comm);
/// In-place sums over the ranks of several buffers on the communicator's GPU, as one group.
std::string gpu_comm_all_reduce(void* comm,
                                const std::vector<void*>& buffers,
                                const std::vector<size_t>& elements,
                                const std::vector<DType>& dtypes);
/// Rank `root`'s bytes at `buffer` into every rank's `buffer`.
std::string gpu_comm_broadcast(void* comm, void* buffer, size_t bytes, int root);

}  // namespace tapeflow::detail
