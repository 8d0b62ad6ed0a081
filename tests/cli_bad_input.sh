#!/bin/bash
# Bad input through the CLI: each case gives a clear message naming the file and the right exit
# code (2 for usage/input errors), and unreadable photos are skipped with a count.
source "$(dirname "$0")/lib_cli.sh"
NET=$ROOT/samples/nets/tiny.ini
run=(--config "$NET" --epochs 1 --batch 32 --threads 2 -q)

expect 2 "usage" -- "$WN"
expect 2 "unknown command" -- "$WN" frobnicate
expect 0 "--config" -- "$WN" train --help
expect 2 "required" -- "$WN" train --data "$SAMPLE/train"
expect 2 "unknown option|unrecognized option" -- "$WN" train --bogus
expect 2 "$TMP/missing" -- "$WN" train "${run[@]}" --data "$TMP/missing" --out "$TMP/m.wnet"
expect 2 "--lr.*-1" -- "$WN" train "${run[@]}" --lr -1 --data "$SAMPLE/train" --out "$TMP/m.wnet"
expect 2 "--optimizer.*rmsprop" -- "$WN" train "${run[@]}" --optimizer rmsprop --data "$SAMPLE/train" --out "$TMP/m.wnet"
expect 2 "/nonexistent/dir/m.wnet" -- "$WN" train "${run[@]}" --data "$SAMPLE/train" --out /nonexistent/dir/m.wnet

# INI errors name the file, line and key
sed 's/^\[train\]/[train]\nlearning_rate = 0.1/' "$NET" > "$TMP/badkey.ini"
grep -q learning_rate "$TMP/badkey.ini" || printf '[train]\nlearning_rate = 0.1\n' >> "$TMP/badkey.ini"
expect 2 "badkey.ini line [0-9]+.*learning_rate" -- "$WN" train --config "$TMP/badkey.ini" --data "$SAMPLE/train" --out "$TMP/m.wnet"
printf '[net]\nwidth = 28\nheight = 28\nchannels = 1\n[c1]\ntype = conv\nfilters = 0\nsize = 3\n' > "$TMP/range.ini"
expect 2 "range.ini line [0-9]+.*filters" -- "$WN" train --config "$TMP/range.ini" --data "$SAMPLE/train" --out "$TMP/m.wnet"
printf '[net]\nwidth = 28\nheight = 28\nchannels = 1\n[oops]\ntype = conv2d\n' > "$TMP/type.ini"
expect 2 "type.ini.*conv2d" -- "$WN" train --config "$TMP/type.ini" --data "$SAMPLE/train" --out "$TMP/m.wnet"

# data sets: empty class folder, corrupt photos skipped with a count, --strict fatal
mkdir -p "$TMP/d1"; cp -r "$SAMPLE/train/ok" "$SAMPLE/train/bag" "$TMP/d1/"; mkdir -p "$TMP/d1/empty_class"
expect 2 "empty_class" -- "$WN" train "${run[@]}" --data "$TMP/d1" --out "$TMP/m.wnet"
rmdir "$TMP/d1/empty_class"
: > "$TMP/d1/bag/zero.png"
echo "this is not a photo" > "$TMP/d1/ok/text.jpg"
f=$(ls "$TMP/d1/ok" | grep -m1 fm); head -c 100 "$TMP/d1/ok/$f" > "$TMP/d1/ok/truncated.png"
expect 0 "3 unreadable photos skipped" -- "$WN" train "${run[@]}" --data "$TMP/d1" --out "$TMP/m.wnet"
out=$("$WN" train "${run[@]}" --data "$TMP/d1" --out "$TMP/m.wnet" 2>&1)
for name in zero.png text.jpg truncated.png; do check "grep -q '$name' <<<\"\$out\"" "skipped photo $name is listed"; done
expect 2 "zero.png|text.jpg|truncated.png" -- "$WN" train "${run[@]}" --strict --data "$TMP/d1" --out "$TMP/m.wnet"

# a validation manifest with a label that is not among the training classes
printf 'path,label\n%s,ok\n%s,scratch\n' "$SAMPLE/test/ok/$(ls $SAMPLE/test/ok | head -1)" \
  "$SAMPLE/test/bag/$(ls $SAMPLE/test/bag | head -1)" > "$TMP/val.csv"
expect 2 "val.csv.*line 3.*scratch" -- "$WN" train "${run[@]}" --data "$SAMPLE/train" --val "$TMP/val.csv" --out "$TMP/m.wnet"

# model files: truncated and bit-flipped refused by info with exit 2
"$WN" train "${run[@]}" --data "$SAMPLE/train" --out "$TMP/good.wnet" >/dev/null 2>&1
check "[[ -s $TMP/good.wnet ]]" "a model to corrupt"
size=$(stat -c %s "$TMP/good.wnet")
head -c $((size / 2)) "$TMP/good.wnet" > "$TMP/trunc.wnet"
expect 2 "trunc.wnet" -- "$WN" info "$TMP/trunc.wnet"
cp "$TMP/good.wnet" "$TMP/flip.wnet"
python3 -c "import sys; p=sys.argv[1]; b=bytearray(open(p,'rb').read()); b[len(b)//3] ^= 0x10; open(p,'wb').write(b)" "$TMP/flip.wnet"
expect 2 "flip.wnet.*(checksum|corrupt)" -- "$WN" info "$TMP/flip.wnet"
expect 2 "not a weldnet model" -- "$WN" info "$NET"
finish
