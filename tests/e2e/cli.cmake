# End-to-end tests of the command line's conventions (cli/main.cpp, cli/verb_names.cpp,
# cli/help_format.cpp, cli/version.cpp, cli/common.cpp EachModel): verbs and help, --version,
# several models with one bad, values out of range, the JSON "embstat" object, man page and
# completions.
#
# Run as a script, it checks the exit status and stdout / stderr separately:
#   cmake "-DCMD=exe;arg;..." -DRC=<status> [-DOUT=<regex on stdout>] [-DERR=<regex on stderr>]
#         [-DNOT_OUT=<regex stdout must not match>] -P cli.cmake
if(CMAKE_SCRIPT_MODE_FILE)
  execute_process(COMMAND ${CMD} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc STREQUAL RC)
    message(FATAL_ERROR "exit status ${rc}, expected ${RC}\nstdout:\n${out}\nstderr:\n${err}")
  endif()
  if(DEFINED OUT AND NOT out MATCHES "${OUT}")
    message(FATAL_ERROR "stdout does not match '${OUT}'\nstdout:\n${out}\nstderr:\n${err}")
  endif()
  if(DEFINED ERR AND NOT err MATCHES "${ERR}")
    message(FATAL_ERROR "stderr does not match '${ERR}'\nstdout:\n${out}\nstderr:\n${err}")
  endif()
  if(DEFINED NOT_OUT AND out MATCHES "${NOT_OUT}")
    message(FATAL_ERROR "stdout matches '${NOT_OUT}'\nstdout:\n${out}\nstderr:\n${err}")
  endif()
  return()
endif()

set(_cli_script ${CMAKE_CURRENT_LIST_FILE})
# The synthetic models (tests/e2e/write_fixtures.cpp), written once before the tests that use them.
set(F ${CMAKE_CURRENT_BINARY_DIR}/cli-e2e)
add_test(NAME e2e.cli.fixtures COMMAND $<TARGET_FILE:embstat_e2e_fixtures> ${F})
set_tests_properties(e2e.cli.fixtures PROPERTIES FIXTURES_SETUP cli_fixtures)

# cli_e2e(NAME RC [OUT regex] [ERR regex] [NOT_OUT regex] [DATA] COMMAND exe args...)
# DATA: needs ../shared/data (label `data`); every test may use the synthetic models in ${F}.
function(cli_e2e name rc)
  cmake_parse_arguments(T "DATA" "OUT;ERR;NOT_OUT" "COMMAND" ${ARGN})
  set(checks "")
  foreach(k OUT ERR NOT_OUT)
    if(DEFINED T_${k})
      list(APPEND checks "-D${k}=${T_${k}}")
    endif()
  endforeach()
  add_test(NAME e2e.cli.${name} COMMAND ${CMAKE_COMMAND} "-DCMD=${T_COMMAND}" -DRC=${rc} ${checks} -P ${_cli_script})
  set_tests_properties(e2e.cli.${name} PROPERTIES FIXTURES_REQUIRED cli_fixtures)
  if(T_DATA)
    set_tests_properties(e2e.cli.${name} PROPERTIES LABELS data)
  endif()
endfunction()

set(E ${EMBSTAT_EXE})

# A misspelled verb: a suggestion, usage status; a word far from every verb lists them.
cli_e2e(unknown_verb 2 ERR "^embstat: unknown verb 'smaple'; did you mean 'sample'\\?" COMMAND ${E} smaple x.gguf)
cli_e2e(unknown_verb_after_option 2 ERR "unknown verb 'pars'; did you mean 'pairs'\\?"
        COMMAND ${E} --threads 2 pars x.gguf)
cli_e2e(unknown_verb_list 2 ERR "unknown verb 'zzz'; the verbs are inspect, vocab, .*sample.*geometry" COMMAND ${E} zzz)
# `embstat help` and `embstat help VERB` print what --help prints.
cli_e2e(help 0 OUT "^embstat: measure the geometry.*Subcommands:.*sample.*geometry" COMMAND ${E} help)
cli_e2e(help_verb 0 OUT "^The study's table.*Usage: sample \\[OPTIONS\\] MODEL\\.\\.\\..*--seed N" COMMAND ${E} help sample)
cli_e2e(help_unknown_verb 2 ERR "unknown verb 'smaple'; did you mean 'sample'\\?" COMMAND ${E} help smaple)
# Defaults read as words: no CLI11 markers such as {false} or INT:INT in [...].
cli_e2e(help_words 0 OUT "--no-exact +Skip" NOT_OUT "\\{false\\}|INT:|TEXT:|FLOAT:" COMMAND ${E} report --help)
cli_e2e(help_words_geometry 0 OUT "--matrix input\\|output.*--samples N" NOT_OUT "\\{false\\}|INT:|TEXT:|FLOAT:"
        COMMAND ${E} geometry --help)
# --version: version, commit, BLAS with its core type, the CPU paths.
cli_e2e(version 0 OUT "^embstat [0-9]+\\.[0-9]+\\.[0-9]+ \\(commit [0-9a-f]+(-dirty)?|unknown\\)\nBLAS: .*core type [A-Za-z0-9]+\nCPU: all-pairs reducer (avx512|avx2|scalar), int16 sign pass [a-z0-9-]+, bf16 row kernels"
        COMMAND ${E} --version)

# Values out of range are refused, not bent.
cli_e2e(seed_negative 2 ERR "--seed: '-1' is not a non-negative integer" COMMAND ${E} -q sample ${F}/small.npy --seed -1)
cli_e2e(samples_too_many 2 ERR "--samples 21 is more than the 20 rows small.npy has to draw from"
        COMMAND ${E} -q sample ${F}/small.npy --samples 21)
cli_e2e(samples_all 0 OUT "small.npy +20 +8 +20 " COMMAND ${E} -q sample ${F}/small.npy --samples 20)
cli_e2e(geometry_samples_too_many 2 ERR "--samples 21 is more than the 20 rows small.npy"
        COMMAND ${E} -q geometry ${F}/small.npy --samples 21)

# A shape that contradicts config.json is a malformed input.
cli_e2e(config_rows 4 ERR "^embstat: [^\n]*config_rows/model.safetensors: 'model.embed_tokens.weight' has 100 rows but config.json says vocab_size 73448"
        COMMAND ${E} -q inspect ${F}/config_rows)

# Several models, some unreadable: the readable ones' rows on stdout, one line per failure on
# stderr, the highest status at the end (4, malformed, over 3 for the missing file);
# --fail-fast stops at the first.
cli_e2e(many_models_one_bad 4 OUT "^Model .*\nsmall.npy +20 +8 .*\n[^\n]*\n[^\n]*\n$"
        ERR "embstat: no-such-model.npy: .*\nembstat: [^\n]*config_rows/model.safetensors: [^\n]* has 100 rows[^\n]*\nembstat: 2 of 3 models could not be read\n$"
        COMMAND ${E} -q sample no-such-model.npy ${F}/small.npy ${F}/config_rows)
cli_e2e(many_models_csv 4 OUT "^model,baseline,rows,rows_used,.*\nsmall.npy,false,20,20,8,[^\n]*\n$"
        COMMAND ${E} -q sample ${F}/small.npy ${F}/config_rows --format csv)
cli_e2e(many_models_fail_fast 3 OUT "^$" ERR "^embstat: no-such-model.npy: [^\n]*\n$"
        COMMAND ${E} -q sample --fail-fast no-such-model.npy ${F}/small.npy)
cli_e2e(many_models_all_bad 3 OUT "^$" ERR "no-such-a.npy.*\n.*no-such-b.npy[^\n]*\n$"
        COMMAND ${E} -q pairs no-such-a.npy no-such-b.npy)
cli_e2e(many_models_pairs 3 OUT "^Model .*\nsmall.npy +20 +190 " ERR "no-such-model.npy"
        COMMAND ${E} -q pairs ${F}/small.npy no-such-model.npy)
cli_e2e(many_models_tokens 3 OUT "^small.npy: 20 rows used of 20" ERR "no-such-model.npy"
        COMMAND ${E} -q tokens ${F}/small.npy no-such-model.npy)
cli_e2e(many_models_geometry 3 OUT "^== small.npy" ERR "no-such-model.npy"
        COMMAND ${E} -q geometry ${F}/small.npy no-such-model.npy)

# Every JSON output carries "embstat": {"version", "command"} at its top level.
set(_stamp "\"embstat\": ?{\n? *\"version\": ?\"[0-9]+\\.[0-9]+\\.[0-9]+\",\n? *\"command\": ?")
cli_e2e(json_inspect 0 OUT "${_stamp}\"inspect\"" COMMAND ${E} -q inspect ${F}/small.npy --format json)
cli_e2e(json_sample 0 OUT "${_stamp}\"sample\"" COMMAND ${E} -q sample ${F}/small.npy --format json)
cli_e2e(json_pairs 0 OUT "${_stamp}\"pairs\"" COMMAND ${E} -q pairs ${F}/small.npy --format json)
cli_e2e(json_pairs_signs 0 OUT "${_stamp}\"pairs\"" COMMAND ${E} -q pairs ${F}/small.npy --signs-only --format json)
cli_e2e(json_tokens 0 OUT "${_stamp}\"tokens\"" COMMAND ${E} -q tokens ${F}/small.npy --format json)
cli_e2e(json_neighbors 0 OUT "${_stamp}\"neighbors\"" COMMAND ${E} -q neighbors ${F}/small.npy 3 --format json)
cli_e2e(json_neighbors_negative 0 OUT "${_stamp}\"neighbors\""
        COMMAND ${E} -q neighbors ${F}/small.npy 3 --negative --format json)
cli_e2e(json_geometry 0 OUT "${_stamp}\"geometry\"" COMMAND ${E} -q geometry ${F}/small.npy --format json)

set(_data ${EMBSTAT_SHARED_DATA})
if(EXISTS ${_data}/stories260K/tok512.bin)
  # A llama2.c tokenizer given as a model: said what it is, the other models still analysed.
  cli_e2e(llama2c_tokenizer 2 DATA OUT "^Model .*\nstories260K.gguf +512 +64 "
          ERR "tok512.bin: a llama2.c tokenizer \\(512 tokens\\), not a checkpoint"
          COMMAND ${E} -q sample ${_data}/stories260K/stories260K.gguf ${_data}/stories260K/tok512.bin)
  cli_e2e(llama2c_tokenizer_vocab 0 DATA OUT "^ +0  \"<unk>\"\n +1  \"\\\\n<s>\\\\n\"\n$"
          COMMAND ${E} -q vocab ${_data}/stories260K/tok512.bin --ids 0-1)
  cli_e2e(json_vocab 0 DATA OUT "${_stamp}\"vocab\"" COMMAND ${E} -q vocab ${_data}/stories260K/tok512.bin --ids 0-1 --format json)
endif()

# `cmake --install` puts the binary, the man page and the completions in place; the man page
# formats, and bash completes verbs and options from the installed script.
set(_install ${CMAKE_CURRENT_BINARY_DIR}/cli-install)
add_test(NAME e2e.cli.install COMMAND ${CMAKE_COMMAND} --install ${PROJECT_BINARY_DIR} --prefix ${_install})
set_tests_properties(e2e.cli.install PROPERTIES FIXTURES_SETUP cli_install)
function(install_e2e name)
  add_test(NAME e2e.cli.${name} COMMAND sh -c "${ARGN}")
  set_tests_properties(e2e.cli.${name} PROPERTIES FIXTURES_REQUIRED cli_install)
endfunction()
install_e2e(installed_files "test -x ${_install}/bin/embstat && test -s ${_install}/share/man/man1/embstat.1 && test -s ${_install}/share/bash-completion/completions/embstat && test -s ${_install}/share/zsh/site-functions/_embstat && test -s ${_install}/share/fish/vendor_completions.d/embstat.fish")
# The man page lists what --help lists (the options of `sample`, from the same definitions).
install_e2e(man_page "grep -qF '.SS \"embstat sample MODEL...\"' ${_install}/share/man/man1/embstat.1 && grep -qF 'fail\\-fast' ${_install}/share/man/man1/embstat.1 && (! command -v groff >/dev/null || groff -man -Tutf8 -ww -z ${_install}/share/man/man1/embstat.1)")
install_e2e(bash_completion "bash -c 'source ${_install}/share/bash-completion/completions/embstat; COMP_WORDS=(embstat sam); COMP_CWORD=1; _embstat; test \"\${COMPREPLY[*]}\" = sample && COMP_WORDS=(embstat sample --fail); COMP_CWORD=2; _embstat; test \"\${COMPREPLY[*]}\" = --fail-fast && COMP_WORDS=(embstat sample --format \"\"); COMP_CWORD=3; _embstat; test \"\${COMPREPLY[*]}\" = \"text table markdown md csv json\"'")
