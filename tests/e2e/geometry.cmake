# End-to-end tests of `embstat geometry` (cli/verb_geometry.cpp).
#
# Tests that check an exit status together with the output run pairs.cmake as a script (its
# documented script mode: -DCMD, -DRC, -DEXPECT), so the runner is written once.
set(_geometry_runner ${EMBSTAT_E2E_DIR}/pairs.cmake)
function(geometry_e2e name rc expect)
  add_test(NAME e2e.${name} COMMAND ${CMAKE_COMMAND} "-DCMD=${ARGN}" -DRC=${rc} "-DEXPECT=${expect}"
           -P ${_geometry_runner})
endfunction()

# Usage and input errors (no data needed).
geometry_e2e(geometry.no_model 2 "MODEL is required" "${EMBSTAT_EXE};geometry")
geometry_e2e(geometry.missing_file 3 "embstat: .*no-such-model.npy" "${EMBSTAT_EXE};geometry;no-such-model.npy")
geometry_e2e(geometry.bad_components 2 "--components" "${EMBSTAT_EXE};geometry;x.npy;--components;0")
geometry_e2e(geometry.bad_percentile 2 "--outlier-percentile" "${EMBSTAT_EXE};geometry;x.npy;--outlier-percentile;100")
geometry_e2e(geometry.bad_spectrum 2 "--spectrum: fast not in" "${EMBSTAT_EXE};geometry;x.npy;--spectrum;fast")
geometry_e2e(geometry.bad_passes 2 "--spectrum-passes" "${EMBSTAT_EXE};geometry;x.npy;--spectrum-passes;0")

set(_stories ${EMBSTAT_SHARED_DATA}/stories260K/stories260K.gguf)
set(_stories_bin ${EMBSTAT_SHARED_DATA}/stories260K/stories260K.bin)
if(EXISTS ${_stories})
  # stories260K: 512 rows x 64. The mean cosine (identity) equals `pairs`' all-pair mean 0.3111;
  # the sampled fraction 0.6772 +-0.2042 is `sample`'s with the same seed (same targets); the exact
  # one 0.6844 is `pairs`' 89,536 / 130,816.
  add_test(NAME e2e.geometry.text COMMAND ${EMBSTAT_EXE} -q geometry ${_stories})
  set_tests_properties(e2e.geometry.text PROPERTIES LABELS data PASS_REGULAR_EXPRESSION
    "stories260K.gguf — input embedding: 512 of 512 rows × 64.*Common direction.*mean pairwise cosine = 0.3111.*as stored +0.6772 +0.2042 +0.3111.*centred.*Principal components.*IsoScore = .*I\\(W\\) = .*Rogue dimensions.*Token classes.*byte +344 .*Odd rows.*Input vs output embeddings")
  add_test(NAME e2e.geometry.exact COMMAND ${EMBSTAT_EXE} -q geometry ${_stories} --exact --no-output)
  set_tests_properties(e2e.geometry.exact PROPERTIES LABELS data PASS_REGULAR_EXPRESSION
    "exact, over all pairs.*as stored +0.6844 +0.6772 +0.3111.*negative: exact")
  add_test(NAME e2e.geometry.json COMMAND ${EMBSTAT_EXE} -q geometry ${_stories} --format json)
  set_tests_properties(e2e.geometry.json PROPERTIES LABELS data PASS_REGULAR_EXPRESSION
    "\"models\": \\[.*\"model\": \"stories260K.gguf\",.*\"matrix\": \"input\",.*\"mean_norm_ratio\": .*\"mean_cosine\": 0.311.*\"cos_to_mean\": {.*\"fraction_non_negative\": 0.677.*\"fraction_non_negative_centered\": .*\"explained_variance\": \\[.*\"isotropy_iw\": .*\"isoscore\": .*\"rogue_dimensions\": \\[.*\"dim\": .*\"share\": .*\"classes\": \\[.*\"class\": \"special\",.*\"count\": 3,.*\"fraction_negative\": .*\"duplicates\": {.*\"outliers\": \\[.*\"output\": {.*\"matrix\": \"output\",.*\"input_output_cosine\": {.*\"median\": 1.0")
  add_test(NAME e2e.geometry.csv COMMAND ${EMBSTAT_EXE} -q geometry ${_stories} --format csv --no-iw)
  set_tests_properties(e2e.geometry.csv PROPERTIES LABELS data PASS_REGULAR_EXPRESSION
    "^model,matrix,rows,dim,mean_norm_ratio,mean_cosine,fraction_method,fraction_non_negative,[^\n]*\nstories260K.gguf,input,512,64,[^\n]*,sampled,0.677[^\n]*\nstories260K.gguf,output,512,64,")
  add_test(NAME e2e.geometry.markdown COMMAND ${EMBSTAT_EXE} -q geometry ${_stories} --format markdown --no-output)
  set_tests_properties(e2e.geometry.markdown PROPERTIES LABELS data PASS_REGULAR_EXPRESSION
    "## stories260K.gguf — input embedding.*### Centring test.*\\| rows +\\| cos ≥ 0 \\|.*### Token classes")
  add_test(NAME e2e.geometry.targets COMMAND ${EMBSTAT_EXE} -q geometry ${_stories} --targets 0-9 --remove 3 --rogue 2)
  set_tests_properties(e2e.geometry.targets PROPERTIES LABELS data PASS_REGULAR_EXPRESSION
    "sampled like `sample`: 10 targets, each.*all-but-the-top, D = 3 .*top 2 coordinates carry")
  # The randomized spectrum on a real matrix: 2 passes of 26 vectors span 52 of the 64
  # dimensions, so it is a real approximation; I(W) is skipped and says how to get it.
  add_test(NAME e2e.geometry.randomized COMMAND ${EMBSTAT_EXE} -q geometry ${_stories} --spectrum randomized
           --spectrum-passes 2 --no-output --format json)
  set_tests_properties(e2e.geometry.randomized PROPERTIES LABELS data PASS_REGULAR_EXPRESSION
    "\"isotropy_iw\": null,.*\"isoscore\": 0[.][0-9]+,.*\"spectrum\": {.*\"method\": \"randomized\",.*\"isotropy_iw\": \"skipped\",.*\"passes\": 2,.*\"block\": 26,.*\"basis\": 52,.*\"probes\": 32,.*\"isoscore_se\": .*--spectrum exact computes it")
  add_test(NAME e2e.geometry.randomized_text COMMAND ${EMBSTAT_EXE} -q geometry ${_stories} --spectrum randomized
           --spectrum-passes 2 --no-output)
  set_tests_properties(e2e.geometry.randomized_text PROPERTIES LABELS data PASS_REGULAR_EXPRESSION
    "IsoScore = 0[.][0-9]+ ±0[.][0-9]+ .*I\\(W\\) not computed: it needs the exact covariance .*spectrum: randomized block Krylov \\(2 passes of 26 vectors")
  # --timings: per-stage wall and CPU seconds of each matrix on stderr; stdout stays the report.
  geometry_e2e(geometry.timings 0
    "^{\n  \"models\": .*}\n?embstat: stories260K.gguf input: timings, wall s and CPU s of all threads\n  row set \\(read, norms, filter\\) +[0-9]+[.][0-9]+ +[0-9]+[.][0-9]+\n  common direction +[0-9.]+ +[0-9.]+\n.*  token classes +[0-9.]+ +[0-9.]+\n  total +[0-9.]+ +[0-9.]+\nembstat: stories260K.gguf output: timings.*  total +[0-9.]+ +[0-9.]+\n$"
    "${EMBSTAT_EXE};-q;geometry;${_stories};--timings;--format;json")
  geometry_e2e(geometry.bad_target 2 "target 600 is out of range" "${EMBSTAT_EXE};-q;geometry;${_stories};--targets;600")
endif()
set(_stories_bf16 ${EMBSTAT_SHARED_DATA}/stories260K/stories260K-BF16.gguf)
if(EXISTS ${_stories_bf16})
  # A bf16 tensor: the randomized spectrum reads the stored rows with the bf16 kernels where the
  # CPU has AVX512-BF16 (spectrum.kernel "bf16"), and EMBSTAT_NO_BF16_KERNEL=1 keeps the f32 path.
  add_test(NAME e2e.geometry.bf16_kernel COMMAND ${EMBSTAT_EXE} -q geometry ${_stories_bf16} --spectrum randomized
           --no-output --format json)
  set_tests_properties(e2e.geometry.bf16_kernel PROPERTIES LABELS data PASS_REGULAR_EXPRESSION
    "\"spectrum\": {.*\"method\": \"randomized\",.*\"kernel\": \"(bf16|f32)\"")
  add_test(NAME e2e.geometry.bf16_kernel_off COMMAND ${CMAKE_COMMAND} -E env EMBSTAT_NO_BF16_KERNEL=1 ${EMBSTAT_EXE} -q
           geometry ${_stories_bf16} --spectrum randomized --no-output --format json)
  set_tests_properties(e2e.geometry.bf16_kernel_off PROPERTIES LABELS data PASS_REGULAR_EXPRESSION
    "\"spectrum\": {.*\"kernel\": \"f32\"")
endif()
if(EXISTS ${_stories_bin})
  # llama2.c checkpoint: the classifier is tied, so there is no output matrix to compare.
  add_test(NAME e2e.geometry.tied COMMAND ${EMBSTAT_EXE} -q geometry ${_stories_bin} --format json --no-iw)
  set_tests_properties(e2e.geometry.tied PROPERTIES LABELS data PASS_REGULAR_EXPRESSION
    "\"tied\": true,.*\"isotropy_iw\": null,.*\"input_output_cosine\": null")
endif()
