# The fuzzing build's settings, included by the top-level CMakeLists.txt when ZOO_FUZZ
# is on, before any library is defined (configure it in build-fuzz/, as
# scripts/fuzz.sh does):
#
#   CC=clang CXX=clang++ cmake -S . -B build-fuzz -DZOO_FUZZ=ON
#
# libFuzzer ships with clang only (Debian: clang and libclang-rt-14-dev). Every library
# is compiled with coverage instrumentation (`fuzzer-no-link`: the fuzzer sees which
# branches an input reached, without a second main()) and with AddressSanitizer and
# UndefinedBehaviorSanitizer, so a read past a buffer or a signed overflow stops the run
# at the faulty line instead of passing silently. The targets in fuzz/ add
# `-fsanitize=fuzzer`, which links libFuzzer's main().
if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  message(FATAL_ERROR "ZOO_FUZZ needs clang (libFuzzer), not ${CMAKE_CXX_COMPILER_ID}: "
                      "configure a fresh build folder with CXX=clang++, as scripts/fuzz.sh does")
endif()
if(ZOO_SANITIZE)
  message(FATAL_ERROR "ZOO_FUZZ already builds with ASan and UBSan: leave ZOO_SANITIZE off")
endif()

# -O1 -g: the sanitizers' usual level, with lines in every report. UBSan does not
# recover, so undefined behaviour is a crash that libFuzzer saves, not a log line.
add_compile_options(-O1 -g -fno-omit-frame-pointer
                    -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined)
add_link_options(-fsanitize=fuzzer-no-link,address,undefined)

# A fuzzing build builds the readers and their fuzz targets, nothing else: these plain
# variables hide the cache options of the same names for the rest of the configure.
set(ZOO_BUILD_TESTS OFF)
set(ZOO_BUILD_TUTORIALS OFF)
set(ZOO_BUILD_BENCH OFF)
