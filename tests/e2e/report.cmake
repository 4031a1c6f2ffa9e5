# End-to-end tests of `embstat report` (cli/verb_report.cpp, embstat/output/html_report.cpp).
#
# The Chromium tests run tests/e2e/report_check.mjs with node: it writes the report, opens it in
# the system's headless Chromium through playwright-core (npm devDependency; it downloads no
# browser), waits for the page's readiness flag, asserts that every chart drew data marks, that
# the console stayed clean and nothing was fetched, checks the content, and saves a full-page
# screenshot to <build>/tests/report-e2e/<name>.png. They skip (exit 77) when Chromium
# (`apt-get install chromium`) or node_modules/ (`npm ci`) is missing.
#
# Exit status + output checks run through pairs.cmake's script runner.

function(report_e2e name rc expect)
  add_test(NAME e2e.${name} COMMAND ${CMAKE_COMMAND} "-DCMD=${ARGN}" -DRC=${rc} "-DEXPECT=${expect}"
           -P ${EMBSTAT_E2E_DIR}/pairs.cmake)
endfunction()

# Usage and input errors (no data, no browser needed).
report_e2e(report.no_model 2 "MODEL is required" "${EMBSTAT_EXE};report")
report_e2e(report.missing_file 3 "embstat: .*no-such-model.npy" "${EMBSTAT_EXE};report;no-such-model.npy;-o;unused.html")
report_e2e(report.bad_samples 2 "--samples" "${EMBSTAT_EXE};report;x.npy;--samples;0")
add_test(NAME e2e.report.help COMMAND ${EMBSTAT_EXE} report --help)
set_tests_properties(e2e.report.help PROPERTIES PASS_REGULAR_EXPRESSION "self-contained HTML.*--token.*--png")

find_program(EMBSTAT_NODE node)
set(_report_out ${CMAKE_CURRENT_BINARY_DIR}/report-e2e)
set(_report_check ${CMAKE_CURRENT_LIST_DIR}/report_check.mjs)
# Adds e2e.report.<name>: report_check.mjs with the given arguments, or a test that skips saying
# why when node is not installed.
function(report_chromium name)
  if(EMBSTAT_NODE)
    add_test(NAME e2e.report.${name}
             COMMAND ${EMBSTAT_NODE} ${_report_check} --embstat ${EMBSTAT_EXE} --out ${_report_out} --name ${name} ${ARGN})
  else()
    add_test(NAME e2e.report.${name} COMMAND sh -c "echo 'SKIP: node is not installed (apt-get install nodejs npm)'; exit 77")
  endif()
  # One browser at a time: the machine is small and the timing check needs a quiet one.
  set_tests_properties(e2e.report.${name} PROPERTIES SKIP_RETURN_CODE 77 RESOURCE_LOCK chromium TIMEOUT 300)
endfunction()

# A synthetic .npy (600 x 32) whose rows 0-92 point against the common direction: the report
# must find the run 0–92 of negative-prone tokens and draw every chart.
report_chromium(synthetic --synthetic --token 5 --expect-range 0-92)
# --png: every chart as PNG and SVG, through the same Chromium.
report_chromium(png --synthetic --png)

set(_stories_dir ${EMBSTAT_SHARED_DATA}/stories260K)
if(EXISTS ${_stories_dir}/stories260K.gguf)
  # A real model with its vocabulary (token classes chart, decoded examples), a chosen token.
  report_chromium(stories260K --model ${_stories_dir}/stories260K.gguf --token 400)
  set_tests_properties(e2e.report.stories260K PROPERTIES LABELS data)
  # Three models in one report: a few MB at most (its opening time is printed, not asserted: a
  # timing belongs in bench/, and a loaded machine misses any fixed limit).
  report_chromium(three_models --model ${_stories_dir}/stories260K.gguf --model ${_stories_dir}/stories260K-Q4_K_M.gguf
                  --model ${_stories_dir}/stories260K.bin --max-bytes 3000000)
  set_tests_properties(e2e.report.three_models PROPERTIES LABELS data RUN_SERIAL TRUE)
endif()
