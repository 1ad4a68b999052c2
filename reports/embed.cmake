# Turns the report's static assets into C++ string literals, so that the faultline binary can
# write a self-contained report.html with no files to install beside it.
# Usage: cmake -DSOURCE_DIR=<project root> -DOUT=<header> -P reports/embed.cmake
set(assets
  "uplot_js=reports/vendor/uplot/uPlot.iife.min.js"
  "uplot_css=reports/vendor/uplot/uPlot.min.css"
  "report_js=reports/assets/report.js"
  "report_css=reports/assets/report.css")
set(text "// Generated from reports/vendor and reports/assets by reports/embed.cmake. Do not edit.\n")
string(APPEND text "#pragma once\n#include <string_view>\nnamespace faultline::report::assets {\n")
foreach(asset ${assets})
  string(FIND "${asset}" "=" eq)
  string(SUBSTRING "${asset}" 0 ${eq} name)
  math(EXPR from "${eq} + 1")
  string(SUBSTRING "${asset}" ${from} -1 path)
  file(READ "${SOURCE_DIR}/${path}" content)
  string(FIND "${content}" ")FLASSET" clash)
  if(NOT clash EQUAL -1)
    message(FATAL_ERROR "${path} contains the raw-string delimiter )FLASSET")
  endif()
  string(APPEND text "inline constexpr std::string_view ${name} = R\"FLASSET(${content})FLASSET\";\n")
endforeach()
string(APPEND text "}  // namespace faultline::report::assets\n")
file(WRITE "${OUT}.tmp" "${text}")
file(COPY_FILE "${OUT}.tmp" "${OUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUT}.tmp")
