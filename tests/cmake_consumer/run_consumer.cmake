# Builds the consumer project (this folder) against an installed loadgen with
# find_package(loadgen) and runs its programs. Invoked by CTest and by the Python tests.
#
#   cmake -DWORK_DIR=<scratch> <one source of the package> [-DGENERATOR=<generator>]
#         -P run_consumer.cmake
# Sources of the package:
#   -DBUILD_DIR=<configured loadgen build>  install it, move the install tree, use that
#   -DSOURCE_DIR=<loadgen checkout> [-DSHARED=ON]
#                                           build the library alone (shared with SHARED=ON),
#                                           install, move, use that
#   -DPACKAGE_DIR=<folder of loadgenConfig.cmake>  an existing package, e.g. the wheel's
# Checks: the C example runs all four scenarios, the Server harness writes a Server summary, a
# FromConfig call gets the mlperf.conf rules under a user.conf, a harness catches
# loadgen::SettingsError by type; for a shared library also that it exports only the public API
# and reads the rules file installed beside it.
cmake_minimum_required(VERSION 3.18)

if(NOT DEFINED WORK_DIR)
  message(FATAL_ERROR "WORK_DIR is required")
endif()
cmake_host_system_information(RESULT jobs QUERY NUMBER_OF_LOGICAL_CORES)
set(generator_args "")
if(DEFINED GENERATOR)
  set(generator_args -G "${GENERATOR}")
endif()

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    string(REPLACE ";" " " command "${ARGN}")
    message(FATAL_ERROR "failed (${rc}): ${command}")
  endif()
endfunction()

file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR}/run)

# The package: installed into one place, then moved, so that it must be relocatable.
set(prefix ${WORK_DIR}/moved-prefix)
if(DEFINED SOURCE_DIR)
  if(NOT DEFINED SHARED)
    set(SHARED OFF)
  endif()
  # Unoptimised and without debug information: this checks linkage, not speed, and compiles
  # fastest that way.
  run(${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${WORK_DIR}/loadgen-build ${generator_args}
      -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG=-O0 -DBUILD_SHARED_LIBS=${SHARED}
      -DLOADGEN_BUILD_TESTS=OFF -DLOADGEN_INSTALL=ON)
  run(${CMAKE_COMMAND} --build ${WORK_DIR}/loadgen-build --parallel ${jobs})
  set(BUILD_DIR ${WORK_DIR}/loadgen-build)
endif()
if(DEFINED BUILD_DIR)
  execute_process(COMMAND ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${WORK_DIR}/prefix
                  RESULT_VARIABLE rc OUTPUT_QUIET)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "cmake --install ${BUILD_DIR} failed")
  endif()
  file(RENAME ${WORK_DIR}/prefix ${prefix})
  file(GLOB_RECURSE config_files ${prefix}/loadgenConfig.cmake)
  list(GET config_files 0 config_file)
  get_filename_component(PACKAGE_DIR ${config_file} DIRECTORY)
elseif(NOT DEFINED PACKAGE_DIR)
  message(FATAL_ERROR "one of BUILD_DIR, SOURCE_DIR or PACKAGE_DIR is required")
endif()

run(${CMAKE_COMMAND} -S ${CMAKE_CURRENT_LIST_DIR} -B ${WORK_DIR}/build ${generator_args}
    -Dloadgen_DIR=${PACKAGE_DIR} -DCMAKE_BUILD_TYPE=Release)
run(${CMAKE_COMMAND} --build ${WORK_DIR}/build --parallel ${jobs})

# The programs run as a user would run them: no rules file named in the environment.
set(run_env ${CMAKE_COMMAND} -E env --unset=LOADGEN_MLPERF_CONF)

execute_process(COMMAND ${run_env} ${WORK_DIR}/build/c_api_harness
                WORKING_DIRECTORY ${WORK_DIR}/run OUTPUT_VARIABLE out RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "c_api_harness failed (${rc}):\n${out}")
endif()
foreach(scenario SingleStream MultiStream Server Offline)
  if(NOT out MATCHES "Scenario : ${scenario}")
    message(FATAL_ERROR "c_api_harness did not run ${scenario}:\n${out}")
  endif()
endforeach()

run(${run_env} ${WORK_DIR}/build/server_harness --qps 2000 --duration-ms 300
    --outdir ${WORK_DIR}/run)
file(READ ${WORK_DIR}/run/mlperf_log_summary.txt summary)
if(NOT summary MATCHES "Scenario : Server")
  message(FATAL_ERROR "server_harness wrote no Server summary")
endif()

# StartTest with an empty QSL throws loadgen::SettingsError (loadgen/errors.h), caught by type.
execute_process(COMMAND ${run_env} ${WORK_DIR}/build/errors_check
                WORKING_DIRECTORY ${WORK_DIR}/run OUTPUT_VARIABLE out RESULT_VARIABLE rc)
if(NOT rc EQUAL 0 OR NOT out MATCHES "^SettingsError: .*TotalSampleCount")
  message(FATAL_ERROR "errors_check did not catch loadgen::SettingsError (${rc}):\n${out}")
endif()

# FromConfig(user.conf) applies mlperf.conf first: the Offline query size and the seeds are
# rules values, the expected QPS is the user's.
file(WRITE ${WORK_DIR}/run/user.conf "resnet50.Offline.target_qps = 1234\n")
function(check_rules expected_min_query_count)
  execute_process(COMMAND ${run_env} ${WORK_DIR}/build/rules_check ${WORK_DIR}/run/user.conf
                  OUTPUT_VARIABLE out RESULT_VARIABLE rc)
  string(CONCAT expected "rc=0 min_query_count=${expected_min_query_count} "
         "min_duration_ms=600000 qsl_rng_seed=2085463073848966840 offline_expected_qps=1234")
  if(NOT rc EQUAL 0 OR NOT out STREQUAL "${expected}\n")
    message(FATAL_ERROR "rules_check printed\n  ${out}expected\n  ${expected}")
  endif()
endfunction()
check_rules(24576)

if(SHARED)
  file(GLOB library ${prefix}/lib*/libmlperf_loadgen.so)
  if(NOT library)
    message(FATAL_ERROR "no libmlperf_loadgen.so under ${prefix}")
  endif()

  # Exports: the official API (mlperf::) and our extensions (loadgen::), nothing else.
  find_program(NM nm REQUIRED)
  execute_process(COMMAND ${NM} -D -C --defined-only ${library} OUTPUT_VARIABLE symbols
                  RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "nm ${library} failed")
  endif()
  string(REPLACE "\n" ";" lines "${symbols}")
  set(unexpected "")
  foreach(line IN LISTS lines)
    if(line STREQUAL "" OR line MATCHES "^[0-9a-f]+ A ")  # version nodes
      continue()
    endif()
    if(NOT line MATCHES "^[0-9a-f]+ [A-Za-z] ((typeinfo|typeinfo name|vtable) for )?(mlperf|loadgen)::")
      string(APPEND unexpected "  ${line}\n")
    endif()
  endforeach()
  if(unexpected)
    message(FATAL_ERROR "${library} exports symbols outside the public API:\n${unexpected}")
  endif()
  foreach(required "mlperf::StartTest(" "mlperf::QuerySamplesComplete(" "mlperf::c::ConstructSUT("
                   "mlperf::TestSettings::FromConfig(" "loadgen::CompleteSampleIds("
                   "typeinfo for loadgen::SettingsError")
    string(FIND "${symbols}" "${required}" at)
    if(at EQUAL -1)
      message(FATAL_ERROR "${library} does not export ${required}")
    endif()
  endforeach()

  # The shared library reads the rules file installed beside it (found from its own location
  # after the move): a value added there reaches FromConfig.
  file(GLOB rules ${prefix}/share/loadgen/mlperf.conf)
  if(NOT rules)
    message(FATAL_ERROR "no share/loadgen/mlperf.conf under ${prefix}")
  endif()
  file(APPEND ${rules} "resnet50.Offline.min_query_count = 4242\n")
  check_rules(4242)
endif()
