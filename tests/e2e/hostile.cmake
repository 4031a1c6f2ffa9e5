# End-to-end tests with hostile inputs (tests/e2e/make_hostile_files.cpp writes them): bytes from
# files and paths never reach the terminal raw, JSON carries any name, rows holding NaN or Inf
# are their own category, and bad option values are usage errors.
#
# Run as a script, it checks one command:
#   cmake "-DCMD=exe;arg;..." -DRC=<exit status> -DEXPECT=<regex on stdout+stderr>
#         [-DSTDERR_LINES=<n>] [-DJSON_PATH=<a.b.0.c> -DJSON_VALUE=<value>] -P hostile.cmake
# In CMD, EXPECT and JSON_VALUE, <ESC> <BEL> <x80> <x9b> stand for those bytes; in CMD, one
# <EMPTY> stands for an empty argument (a CMake list cannot hold one). Whatever the
# command, stdout and stderr must hold no control byte but the newline, no DEL, no byte that
# never occurs in UTF-8, and none of the fixtures' raw 0x80 and 0x9b (an 8-bit CSI).
if(CMAKE_SCRIPT_MODE_FILE)
  string(ASCII 27 esc)
  string(ASCII 7 bel)
  string(ASCII 128 x80)
  string(ASCII 155 x9b)
  foreach(var CMD EXPECT JSON_VALUE)
    string(REPLACE "<ESC>" "${esc}" ${var} "${${var}}")
    string(REPLACE "<BEL>" "${bel}" ${var} "${${var}}")
    string(REPLACE "<x80>" "${x80}" ${var} "${${var}}")
    string(REPLACE "<x9b>" "${x9b}" ${var} "${${var}}")
  endforeach()
  list(FIND CMD "<EMPTY>" empty_at)
  if(empty_at GREATER -1)
    list(SUBLIST CMD 0 ${empty_at} before)
    math(EXPR after_at "${empty_at} + 1")
    set(after)
    list(LENGTH CMD n_cmd)
    if(after_at LESS n_cmd)
      list(SUBLIST CMD ${after_at} -1 after)
    endif()
    execute_process(COMMAND ${before} "" ${after} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  else()
    execute_process(COMMAND ${CMD} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  endif()
  set(shown "stdout:\n${out}\nstderr:\n${err}")
  if(NOT rc STREQUAL RC)
    message(FATAL_ERROR "exit status ${rc}, expected ${RC}\n${shown}")
  endif()
  if(NOT "${out}${err}" MATCHES "${EXPECT}")
    message(FATAL_ERROR "output does not match '${EXPECT}'\n${shown}")
  endif()
  # 0xC0, 0xC1, 0xF5-0xFF never occur in UTF-8; 0x80 and 0x9b do (inside "─", "ě"), so the
  # fixtures' raw ones are looked for where they stand: after "bad" and "name".
  set(codes 127 192 193 245 255)
  foreach(raw "bad${x80}" "name${x9b}" "b${x80}")
    string(FIND "${out}${err}" "${raw}" at)
    if(at GREATER -1)
      message(FATAL_ERROR "a raw 0x80 or 0x9b byte reached the output (at ${at})\n${shown}")
    endif()
  endforeach()
  foreach(code RANGE 1 31)
    if(NOT code EQUAL 10)
      list(APPEND codes ${code})
    endif()
  endforeach()
  foreach(code ${codes})
    string(ASCII ${code} byte)
    string(FIND "${out}${err}" "${byte}" at)
    if(at GREATER -1)
      message(FATAL_ERROR "byte ${code} reached the output raw (at ${at})\n${shown}")
    endif()
  endforeach()
  if(DEFINED STDERR_LINES)
    string(REGEX MATCHALL "\n" newlines "${err}")
    list(LENGTH newlines n)
    if(NOT n EQUAL STDERR_LINES)
      message(FATAL_ERROR "stderr has ${n} lines, expected ${STDERR_LINES}\n${shown}")
    endif()
  endif()
  if(DEFINED JSON_PATH)
    string(REPLACE "." ";" path "${JSON_PATH}")
    string(JSON value ERROR_VARIABLE json_error GET "${out}" ${path})
    if(json_error OR NOT value STREQUAL JSON_VALUE)
      message(FATAL_ERROR "${JSON_PATH} is '${value}' (${json_error}), expected '${JSON_VALUE}'\n${shown}")
    endif()
  endif()
  return()
endif()

set(_hostile_script ${CMAKE_CURRENT_LIST_FILE})
set(_h ${CMAKE_CURRENT_BINARY_DIR}/e2e_hostile)
add_test(NAME e2e.hostile.make_files COMMAND make_hostile_files ${_h})
set_tests_properties(e2e.hostile.make_files PROPERTIES FIXTURES_SETUP hostile_files)

# hostile_e2e(name rc expect [STDERR_LINES n] [JSON path value] CMD exe arg...)
function(hostile_e2e name rc expect)
  cmake_parse_arguments(H "" "STDERR_LINES" "JSON;CMD" ${ARGN})
  set(extra)
  if(DEFINED H_STDERR_LINES)
    list(APPEND extra -DSTDERR_LINES=${H_STDERR_LINES})
  endif()
  if(H_JSON)
    list(GET H_JSON 0 json_path)
    list(GET H_JSON 1 json_value)
    list(APPEND extra -DJSON_PATH=${json_path} "-DJSON_VALUE=${json_value}")
  endif()
  add_test(NAME e2e.hostile.${name} COMMAND ${CMAKE_COMMAND} "-DCMD=${H_CMD}" -DRC=${rc} "-DEXPECT=${expect}" ${extra}
    -P ${_hostile_script})
  set_tests_properties(e2e.hostile.${name} PROPERTIES FIXTURES_REQUIRED hostile_files)
endfunction()

# Bytes from headers, names and paths are escaped in error messages: one line each.
hostile_e2e(npy_key_newline 4 "^embstat: [^\n]*key_newline.npy: offset [0-9]+: unexpected key 'desc\\\\n'[^\n]*\n$"
  STDERR_LINES 1 CMD ${EMBSTAT_EXE} -q inspect ${_h}/key_newline.npy)
hostile_e2e(npy_dtype_escape 5 "^embstat: [^\n]*dtype_esc.npy: [^\n]*<\\\\x1b\\[2J[^\n]*\n$"
  STDERR_LINES 1 CMD ${EMBSTAT_EXE} -q sample ${_h}/dtype_esc.npy)
hostile_e2e(shard_name_title 3 "^embstat: [^\n]*\\\\x1b\\]0.TITLE\\\\x07\\.safetensors[^\n]*\n$"
  STDERR_LINES 1 CMD ${EMBSTAT_EXE} -q inspect ${_h}/shards)
hostile_e2e(path_escape_missing 3 "^embstat: [^\n]*/no\\\\x80\\\\x1b\\[2Jsuch\\.npy: [^\n]*\n$"
  STDERR_LINES 1 CMD ${EMBSTAT_EXE} -q sample ${_h}/no<x80><ESC>[2Jsuch.npy)

# A path that is not UTF-8: JSON carries it with U+FFFD, tables show it escaped.
hostile_e2e(path_json_sample 0 "\"model\": \"bad�name�\\.npy\"" JSON models.0.model "bad�name�.npy"
  CMD ${EMBSTAT_EXE} -q sample ${_h}/bad<x80>name<x9b>.npy --format json)
hostile_e2e(path_json_pairs 0 "\"model\": \"bad�name�\\.npy\"" JSON models.0.model "bad�name�.npy"
  CMD ${EMBSTAT_EXE} -q pairs ${_h}/bad<x80>name<x9b>.npy --format json)
hostile_e2e(path_json_tokens 0 "\"model\":\"bad�name�\\.npy\"" JSON models.0.model "bad�name�.npy"
  CMD ${EMBSTAT_EXE} -q tokens ${_h}/bad<x80>name<x9b>.npy --format json)
hostile_e2e(path_json_geometry 0 "bad�name�\\.npy" CMD ${EMBSTAT_EXE} -q geometry ${_h}/bad<x80>name<x9b>.npy
  --format json --samples 4)
hostile_e2e(path_table 0 "bad\\\\x80name\\\\x9b\\.npy +16 +8 " CMD ${EMBSTAT_EXE} -q sample ${_h}/bad<x80>name<x9b>.npy)
hostile_e2e(path_csv 0 "\nbad\\\\x80name\\\\x9b\\.npy,false,16," CMD ${EMBSTAT_EXE} -q sample
  ${_h}/bad<x80>name<x9b>.npy --format csv)
hostile_e2e(path_geometry_text 0 "== [^\n]*bad\\\\x80name\\\\x9b\\.npy — input embedding" CMD ${EMBSTAT_EXE} -q
  geometry ${_h}/bad<x80>name<x9b>.npy --samples 4)

# Token texts with ESC sequences, newlines, invalid UTF-8 and bidi overrides; CJK stays readable.
hostile_e2e(vocab_text 0 "\\\\x1b\\[2J.*x\\\\ny.*b\\\\x80\\\\xff.*\\\\x1b.*日本.*\\\\u202e" CMD ${EMBSTAT_EXE} -q vocab
  ${_h}/hostile_vocab.gguf --ids 0-7)
hostile_e2e(vocab_json 0 "日本" CMD ${EMBSTAT_EXE} -q vocab ${_h}/hostile_vocab.gguf --ids 0-7 --format json)
hostile_e2e(tokens_csv 0 "^model,id,text,[^\n]*\nhostile_vocab.gguf,0,a,[^\n]*\nhostile_vocab.gguf,1,\\\\x1b\\[2J," CMD ${EMBSTAT_EXE} -q tokens ${_h}/hostile_vocab.gguf --format csv)
hostile_e2e(tokens_text 0 "hostile_vocab.gguf: 8 rows used" CMD ${EMBSTAT_EXE} -q tokens ${_h}/hostile_vocab.gguf)
hostile_e2e(neighbors_text 0 "Token 1 \"\\\\x1b\\[2J\"" CMD ${EMBSTAT_EXE} -q neighbors ${_h}/hostile_vocab.gguf 1)
hostile_e2e(neighbors_json 0 "\"text\":" CMD ${EMBSTAT_EXE} -q neighbors ${_h}/hostile_vocab.gguf 1 --format json)
hostile_e2e(sample_targets 0 "\"text\": \"\\\\u001b\\[2J\"" CMD ${EMBSTAT_EXE} -q sample ${_h}/hostile_vocab.gguf --targets 0-7
  --format json)
hostile_e2e(geometry_text 0 "Odd rows" CMD ${EMBSTAT_EXE} -q geometry ${_h}/hostile_vocab.gguf --samples 4)

# Rows holding NaN or Inf: their own category, named on stderr and in JSON; none usable: exit 4,
# one line that says why.
set(_no_rows "^embstat: nan_column.npy: no usable rows: all 256 are left out \\(256 rows holding NaN or Inf\\)\n$")
foreach(verb sample pairs tokens geometry)
  hostile_e2e(nan_column_${verb} 4 "${_no_rows}" STDERR_LINES 1 CMD ${EMBSTAT_EXE} -q ${verb} ${_h}/nan_column.npy)
endforeach()
hostile_e2e(nan_column_neighbors 4 "${_no_rows}" STDERR_LINES 1
  CMD ${EMBSTAT_EXE} -q neighbors ${_h}/nan_column.npy 0)
set(_mixed_note "embstat: mixed.npy: excluded 2 zero-norm rows, 2 rows holding NaN or Inf; 60 of 64 rows used\n")
hostile_e2e(non_finite_sample_json 0 "${_mixed_note}" JSON models.0.excluded_rows.non_finite 2
  CMD ${EMBSTAT_EXE} -q sample ${_h}/mixed.npy --format json)
hostile_e2e(zero_sample_json 0 "\"zero\": 2" JSON models.0.excluded_rows.zero 2
  CMD ${EMBSTAT_EXE} -q sample ${_h}/mixed.npy --format json)
hostile_e2e(non_finite_pairs_json 0 "${_mixed_note}" JSON models.0.excluded_rows.non_finite 2
  CMD ${EMBSTAT_EXE} -q pairs ${_h}/mixed.npy --format json)
hostile_e2e(non_finite_signs_json 0 "${_mixed_note}" JSON models.0.excluded_rows.non_finite 2
  CMD ${EMBSTAT_EXE} -q pairs ${_h}/mixed.npy --signs-only --format json)
hostile_e2e(non_finite_tokens_json 0 "${_mixed_note}" JSON models.0.excluded_rows.non_finite 2
  CMD ${EMBSTAT_EXE} -q tokens ${_h}/mixed.npy --format json)
hostile_e2e(non_finite_geometry_json 0 "${_mixed_note}" JSON models.0.non_finite_rows.count 2
  CMD ${EMBSTAT_EXE} -q geometry ${_h}/mixed.npy --format json --samples 4)
hostile_e2e(non_finite_neighbors 2 "\nembstat: token 5 of mixed.npy is a row holding NaN or Inf \\(it has no cosine\\)\n$"
  CMD ${EMBSTAT_EXE} -q neighbors ${_h}/mixed.npy 5)

# Option values: an empty output name and non-finite numbers are usage errors.
hostile_e2e(report_empty_output 2 "^embstat: --output: the file name is empty[^\n]*\n$" STDERR_LINES 1
  CMD ${EMBSTAT_EXE} -q report ${_h}/mixed.npy -o <EMPTY>)
hostile_e2e(report_empty_output_equals 2 "^embstat: --output: [^\n]*\n$" STDERR_LINES 1
  CMD ${EMBSTAT_EXE} -q report ${_h}/mixed.npy --output=)
hostile_e2e(export_empty_output 2 "^embstat: --output: the file name is empty[^\n]*\n$" STDERR_LINES 1
  CMD ${EMBSTAT_EXE} -q export ${_h}/mixed.npy -o <EMPTY>)
hostile_e2e(histogram_empty 2 "^embstat: --histogram: the file name is empty[^\n]*\n$" STDERR_LINES 1
  CMD ${EMBSTAT_EXE} -q pairs ${_h}/mixed.npy --histogram <EMPTY>)
hostile_e2e(png_empty 2 "^embstat: --png: the file name is empty[^\n]*\n$" STDERR_LINES 1
  CMD ${EMBSTAT_EXE} -q report ${_h}/mixed.npy --png <EMPTY>)
foreach(value nan NaN inf 1e999)
  hostile_e2e(prone_${value} 2 "^embstat: --prone: '${value}' is not a finite number[^\n]*\n$" STDERR_LINES 1
    CMD ${EMBSTAT_EXE} -q tokens ${_h}/mixed.npy --prone ${value})
endforeach()
hostile_e2e(threads_capped 0 "embstat: --threads 512 is more than 2 threads per core on this machine's [0-9]+ cores: using [0-9]+\n"
  CMD ${EMBSTAT_EXE} --threads 512 -q pairs ${_h}/mixed.npy --signs-only)
hostile_e2e(threads_absurd 2 "^embstat: --threads: [^\n]*1024[^\n]*\n$" STDERR_LINES 1
  CMD ${EMBSTAT_EXE} --threads 1024 -q pairs ${_h}/mixed.npy)
hostile_e2e(outlier_percentile_nan 2 "^embstat: --outlier-percentile: 'nan' is not a finite number[^\n]*\n$"
  STDERR_LINES 1 CMD ${EMBSTAT_EXE} -q geometry ${_h}/mixed.npy --outlier-percentile nan)
