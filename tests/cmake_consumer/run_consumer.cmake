# Installs the build tree (or uses PREFIX), builds the consumer project against it with
# find_package(loadgen), and runs both harnesses. Invoked by CTest and by the Python tests.
#   cmake -DBUILD_DIR=<loadgen build> -DWORK_DIR=<scratch> [-DPREFIX=<existing prefix>] -P run_consumer.cmake
foreach(var WORK_DIR)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "${var} is required")
  endif()
endforeach()
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR}/run)
if(NOT DEFINED PREFIX)
  set(PREFIX ${WORK_DIR}/prefix)
  execute_process(COMMAND ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${PREFIX}
                  RESULT_VARIABLE rc OUTPUT_QUIET)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "cmake --install failed")
  endif()
endif()
execute_process(COMMAND ${CMAKE_COMMAND} -S ${CMAKE_CURRENT_LIST_DIR} -B ${WORK_DIR}/build
                        -DCMAKE_PREFIX_PATH=${PREFIX} -DCMAKE_BUILD_TYPE=Release
                RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "configuring the consumer against ${PREFIX} failed")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} --build ${WORK_DIR}/build RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "building the consumer failed")
endif()
execute_process(COMMAND ${WORK_DIR}/build/c_api_harness WORKING_DIRECTORY ${WORK_DIR}/run
                OUTPUT_VARIABLE out RESULT_VARIABLE rc)
message("${out}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "c_api_harness failed")
endif()
foreach(scenario SingleStream MultiStream Server Offline)
  if(NOT out MATCHES "Scenario : ${scenario}")
    message(FATAL_ERROR "c_api_harness did not run ${scenario}")
  endif()
endforeach()
execute_process(COMMAND ${WORK_DIR}/build/server_harness --qps 2000 --duration-ms 300
                        --outdir ${WORK_DIR}/run
                RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "server_harness failed")
endif()
file(READ ${WORK_DIR}/run/mlperf_log_summary.txt summary)
if(NOT summary MATCHES "Scenario : Server")
  message(FATAL_ERROR "server_harness wrote no Server summary")
endif()
