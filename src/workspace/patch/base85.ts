import { deflateSync } from "node:zlib";

/** git's base85 alphabet (base85.c), not Ascii85's. */
const EN85 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz!#$%&()*+-;<=>?@^_`{|}~";

/** One line of a git binary hunk: a length character ('A'-'Z' = 1-26, 'a'-'z' = 27-52), then base85 of up to 52 bytes. */
function encodeLine(chunk: Buffer): string {
  const n = chunk.length;
  let out = n <= 26 ? String.fromCharCode(0x41 + n - 1) : String.fromCharCode(0x61 + n - 27);
  for (let i = 0; i < n; i += 4) {
    let acc = 0;
    for (let j = 0; j < 4; j++) acc = acc * 256 + (i + j < n ? chunk[i + j]! : 0);
    const group = new Array<string>(5);
    for (let c = 4; c >= 0; c--) {
      group[c] = EN85[acc % 85]!;
      acc = Math.floor(acc / 85);
    }
    out += group.join("");
  }
  return out;
}

/** A `literal` hunk of a "GIT binary patch": the whole content, zlib-deflated, base85 in 52-byte lines. */
export function literalHunk(content: Buffer): string {
  const z = deflateSync(content);
  let out = `literal ${content.length}\n`;
  for (let i = 0; i < z.length; i += 52) out += `${encodeLine(z.subarray(i, i + 52))}\n`;
  return `${out}\n`;
}
