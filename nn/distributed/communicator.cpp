/// @file communicator.cpp
/// @brief The group of one, and `mpi_world` in a build without MPI.

#include "nn/distributed/communicator.h"

#include <cstdlib>

#include "autograd/error.h"

namespace zoo::nn {

void SingleProcess::abort(int code) { std::exit(code); }

#ifndef ZOO_HAVE_MPI
bool built_with_mpi() { return false; }

std::unique_ptr<Communicator> mpi_world() {
  throw Error(
      "--distributed needs MPI, and this zoo was built without it: install Debian's OpenMPI "
      "(apt install libopenmpi-dev openmpi-bin, or scripts/setup.sh), then configure and build again");
}
#endif

}  // namespace zoo::nn
