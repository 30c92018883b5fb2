// The benchmarks' statistics: medians of rounds, and their spread.

/** The median of `a`. */
export const median = (a) => {
  const s = [...a].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** Half the min-max spread of `a`, relative to its median. */
export const spread = (a) => (median(a) ? (Math.max(...a) - Math.min(...a)) / 2 / median(a) : 0);
