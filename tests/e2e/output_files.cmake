# End-to-end tests of how the verbs write their output files (embstat/base/atomic_file.hpp):
# a file is replaced whole or left alone, a symlink is followed and kept, a device is written
# through and never deleted, nothing temporary is left behind.
#
# Included by tests/CMakeLists.txt to add the test; also run as a script: cmake -DEXE=<embstat> -DDIR=<scratch> -P this
if(CMAKE_SCRIPT_MODE_FILE)
  file(REMOVE_RECURSE ${DIR})
  file(MAKE_DIRECTORY ${DIR}/folder.npy)

  function(run rc expect)
    execute_process(COMMAND ${EXE} -q ${ARGN} RESULT_VARIABLE got OUTPUT_VARIABLE out ERROR_VARIABLE err)
    if(NOT got STREQUAL rc)
      message(FATAL_ERROR "embstat ${ARGN}: exit status ${got}, expected ${rc}\n${out}${err}")
    endif()
    if(NOT "${out}${err}" MATCHES "${expect}")
      message(FATAL_ERROR "embstat ${ARGN}: output does not match '${expect}'\n${out}${err}")
    endif()
  endfunction()
  function(expect_content path expected)
    file(READ ${path} content)
    if(NOT content STREQUAL expected)
      message(FATAL_ERROR "${path} holds '${content}', expected '${expected}'")
    endif()
  endfunction()
  function(expect_link path target)
    if(NOT IS_SYMLINK ${path})
      message(FATAL_ERROR "${path} is no longer a symlink")
    endif()
    file(READ_SYMLINK ${path} got)
    if(NOT got STREQUAL target)
      message(FATAL_ERROR "${path} now points to ${got}, expected ${target}")
    endif()
  endfunction()

  # A 2 x 2 float32 .npy (CMake cannot write NUL bytes itself): header padded to 128 bytes.
  execute_process(COMMAND printf
    "\\223NUMPY\\001\\000v\\000{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }%58s\\n\\000\\000\\200\\077\\000\\000\\000\\000\\000\\000\\000\\000\\000\\000\\200\\077"
    "" OUTPUT_FILE ${DIR}/in.npy RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "printf could not write the input")
  endif()
  file(WRITE ${DIR}/garbage.npy "not an npy file")

  # A new file, then replacing it: 144 bytes both times.
  run(0 "wrote [^\n]*out.npy: 2 × 2 float32" export ${DIR}/in.npy -o ${DIR}/out.npy)
  run(0 "wrote" export ${DIR}/in.npy -o ${DIR}/out.npy)
  file(SIZE ${DIR}/out.npy size)
  if(NOT size EQUAL 144)
    message(FATAL_ERROR "out.npy has ${size} bytes, expected 144")
  endif()

  # A failed run leaves the previous file as it was.
  file(WRITE ${DIR}/keep.npy "previous")
  run(4 "garbage.npy: offset 0: not a .npy file" export ${DIR}/garbage.npy -o ${DIR}/keep.npy)
  expect_content(${DIR}/keep.npy "previous")

  # A symlink: the file it points to is replaced, the link stays.
  file(WRITE ${DIR}/real.npy "previous")
  file(CREATE_LINK real.npy ${DIR}/link.npy SYMBOLIC)
  run(0 "wrote" export ${DIR}/in.npy -o ${DIR}/link.npy)
  expect_link(${DIR}/link.npy real.npy)
  file(SIZE ${DIR}/real.npy size)
  if(NOT size EQUAL 144)
    message(FATAL_ERROR "real.npy has ${size} bytes, expected 144")
  endif()

  # A symlink to /dev/full: a write error, and the link (and the device) are still there.
  if(EXISTS /dev/full)
    file(CREATE_LINK /dev/full ${DIR}/full.npy SYMBOLIC)
    run(3 "embstat: [^\n]*full.npy: cannot write: No space left on device\n$" export ${DIR}/in.npy -o ${DIR}/full.npy)
    expect_link(${DIR}/full.npy /dev/full)
    file(CREATE_LINK /dev/full ${DIR}/full.csv SYMBOLIC)
    run(3 "full.csv: cannot write: No space left on device" pairs ${DIR}/in.npy --histogram ${DIR}/full.csv)
    expect_link(${DIR}/full.csv /dev/full)
    if(NOT EXISTS /dev/full)
      message(FATAL_ERROR "/dev/full is gone")
    endif()
  endif()
  # A character device named directly is written through.
  if(EXISTS /dev/null)
    file(CREATE_LINK /dev/null ${DIR}/null.npy SYMBOLIC)
    run(0 "wrote" export ${DIR}/in.npy -o ${DIR}/null.npy)
    expect_link(${DIR}/null.npy /dev/null)
  endif()

  # A folder is refused before any work, and stays.
  run(3 "folder.npy: is a folder, expected a file name" export ${DIR}/in.npy -o ${DIR}/folder.npy)
  if(NOT IS_DIRECTORY ${DIR}/folder.npy)
    message(FATAL_ERROR "folder.npy is gone")
  endif()

  # Nothing temporary left behind.
  file(GLOB leftovers ${DIR}/.*)
  if(leftovers)
    message(FATAL_ERROR "temporary files left behind: ${leftovers}")
  endif()
  return()
endif()

add_test(NAME e2e.output_files COMMAND ${CMAKE_COMMAND} -DEXE=${EMBSTAT_EXE}
  -DDIR=${CMAKE_CURRENT_BINARY_DIR}/e2e_output_files -P ${CMAKE_CURRENT_LIST_FILE})
