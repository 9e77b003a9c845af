// The OSS's batched small reads: many object ranges of one target in one call (the HSM agent reads small files to export so).

/** Most ranges one readMany call may name. */
export const READ_MANY_MAX = 256;

/** One range of readMany. */
export interface ObjectRange {
  object: string;
  offset: number;
  length: number;
}

export interface OssBatchMethods {
  /**
   * As `read` for each range, in order: reply payload = each range's bytes one after another (up to
   * `length`, fewer at the object's end, none for a missing object), `lengths` = how many each. The
   * ranges' lengths add up to at most the largest read. One bad range (EINVAL) fails the call.
   */
  readMany: { args: { target: string; reads: ObjectRange[] }; result: { lengths: number[] } };
}
