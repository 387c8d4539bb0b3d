#!/usr/bin/env bash
# Java side of android_demo (see android_demo/README.md): compile the plain-Java core with
# --release 11 (the same sources build in the Android app), the JDBC store and the JUnit tests with
# Java 17, and run the tests against golden files written by the Python side in this run.
#
#   .ci/android.sh GOLDEN_DIR     GOLDEN_DIR from: python android_demo/golden/make_golden.py GOLDEN_DIR BUNDLES
#
# Installs javac / junit5 / sqlite-jdbc with apt-get when missing. JUNIT_LOG=FILE keeps the full
# JUnit tree (one line per comparison). The ONNX Runtime encoder
# adapter is compiled and tested only if an onnxruntime Java jar is found (ONNXRUNTIME_JAR, or
# /usr/share/java/onnxruntime*.jar); otherwise its test reports "skipped". Last line:
# "Java: N passed, N failed"; exit status non-zero on any failure.
set -euo pipefail
if [ $# -ne 1 ] || [ ! -f "$1/golden.json" ]; then
  echo "usage: .ci/android.sh GOLDEN_DIR (a folder with golden.json from android_demo/golden/make_golden.py)" >&2
  exit 2
fi
golden=$(cd "$1" && pwd)
cd "$(dirname "$0")/.."
java_dir=/usr/share/java

need=()
command -v javac >/dev/null 2>&1 || need+=(openjdk-17-jdk-headless)
[ -f "$java_dir/junit-platform-console-standalone.jar" ] || need+=(junit5)
[ -f "$java_dir/sqlite-jdbc.jar" ] || need+=(libxerial-sqlite-jdbc-java)
if [ ${#need[@]} -gt 0 ]; then
  echo "== apt-get install ${need[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

build=$(mktemp -d)
trap 'rm -rf "$build"' EXIT
junit="$java_dir/junit-platform-console-standalone.jar"
sqlite="$java_dir/sqlite-jdbc.jar"

ort_jar="${ONNXRUNTIME_JAR:-}"
if [ -z "$ort_jar" ]; then
  ort_jar=$(ls "$java_dir"/onnxruntime*.jar 2>/dev/null | head -n 1 || true)
fi

echo "== javac --release 11: android_demo/core"
javac --release 11 -encoding UTF-8 -Xlint:all -Werror -d "$build/core" $(find android_demo/core/src/main/java -name '*.java')
sources=$(find android_demo/jvm/src/main/java -name '*.java')
classpath="$build/core:$sqlite"
if [ -n "$ort_jar" ] && [ -f "$ort_jar" ]; then
  echo "== ONNX Runtime Java API: $ort_jar (OrtQueryEncoder is compiled and tested)"
  sources="$sources $(find android_demo/ort/src/main/java -name '*.java')"
  classpath="$classpath:$ort_jar"
else
  echo "== ONNX Runtime Java API: not found (no onnxruntime jar; set ONNXRUNTIME_JAR) -> its test is skipped"
fi
echo "== javac --release 17: android_demo/jvm (store, tests)"
javac --release 17 -encoding UTF-8 -Xlint:all -Werror -cp "$classpath" -d "$build/jvm" $sources
javac --release 17 -encoding UTF-8 -Xlint:all,-processing -Werror -cp "$classpath:$build/jvm:$junit" -d "$build/tests" \
  $(find android_demo/jvm/src/test/java -name '*.java')

echo "== JUnit (golden files: $golden)"
set +e
java -Dgolden.dir="$golden" -Dfile.encoding=UTF-8 -jar "$junit" --disable-banner --fail-if-no-tests --details=tree \
  --details-theme=ascii --disable-ansi-colors -cp "$classpath:$build/jvm:$build/tests" --select-package ai.colbertedge \
  > "$build/junit.log" 2>&1
status=$?
set -e
# The tree is long (one line per golden comparison): show failures, skips and the summary.
grep -E '\[X\]|\[S\]|=>|Exception|expected|differ' "$build/junit.log" | head -n 80 || true
sed -n '/Test run finished/,$p' "$build/junit.log"
[ -z "${JUNIT_LOG:-}" ] || cp "$build/junit.log" "$JUNIT_LOG"  # the full tree, for a closer look
count() { sed -n "s/^\[ *\([0-9]*\) tests $1 .*/\1/p" "$build/junit.log" | head -n 1; }
passed=$(count successful); failed=$(count failed); skipped=$(count skipped); aborted=$(count aborted)
if [ -z "$passed" ] || [ -z "$failed" ]; then
  tail -n 40 "$build/junit.log"
  echo "Java: 0 passed, 1 failed (the JUnit run did not finish, exit $status)"
  exit 1
fi
failed=$((failed + ${aborted:-0}))
[ "${skipped:-0}" -eq 0 ] || echo "Java: ${skipped} skipped (see [S] lines above)"
echo "Java: $passed passed, $failed failed"
[ "$status" -eq 0 ] && [ "$failed" -eq 0 ]
