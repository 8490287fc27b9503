# The ThreadSanitizer build, included by the top-level CMakeLists.txt when ZOO_TSAN is on
# (scripts/setup.sh --tsan configures it in build-tsan/):
#
#   CXX=clang++ cmake -S . -B build-tsan -DZOO_TSAN=ON
#
# ThreadSanitizer reports two threads touching the same memory, one of them writing,
# with nothing ordering the two. It must see every synchronisation to know what is
# ordered, and GCC's OpenMP runtime (libgomp) synchronises its threads with its own
# futexes, which it cannot see: every parallel loop would be reported. LLVM's OpenMP
# runtime (libomp, which clang's -fopenmp links) tells ThreadSanitizer about its
# barriers and locks through its tool interface and the Archer tool (libarcher.so), so
# the tests run with OMP_TOOL_LIBRARIES pointing at it (tests/CMakeLists.txt).
if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  message(FATAL_ERROR "ZOO_TSAN needs clang (its OpenMP runtime works with ThreadSanitizer), "
                      "not ${CMAKE_CXX_COMPILER_ID}: configure a fresh build folder with "
                      "CXX=clang++, as scripts/setup.sh --tsan does")
endif()
if(ZOO_SANITIZE OR ZOO_FUZZ)
  message(FATAL_ERROR "ZOO_TSAN cannot be combined with ZOO_SANITIZE or ZOO_FUZZ (ASan)")
endif()

add_compile_options(-O1 -g -fno-omit-frame-pointer -fsanitize=thread)
add_link_options(-fsanitize=thread)

# Archer, found next to clang's libomp (Debian: libomp-14-dev).
get_filename_component(ZOO_CLANG_DIR ${CMAKE_CXX_COMPILER} REALPATH)
get_filename_component(ZOO_CLANG_DIR ${ZOO_CLANG_DIR} DIRECTORY)
find_library(ZOO_ARCHER_LIBRARY archer HINTS ${ZOO_CLANG_DIR}/../lib REQUIRED)

# What ThreadSanitizer runs is the tests of the parallel loops (autograd) and of the
# DataLoader's thread (nn); tutorials and benchmarks are not built.
set(ZOO_BUILD_TUTORIALS OFF)
set(ZOO_BUILD_BENCH OFF)
