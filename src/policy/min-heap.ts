/**
 * A binary min-heap of numbers kept in a plain array, as two functions, so
 * the policies that order frequency buckets (LFU-DA, the learned policy's
 * LFU experts) share one implementation.
 *
 * @example
 * const heap: number[] = [];
 * heapPush(heap, 3); heapPush(heap, 1); // heap[0] === 1
 * heapPop(heap);                          // heap[0] === 3
 */

/** Adds `value`, keeping `heap[0]` the smallest. */
export function heapPush(heap: number[], value: number): void {
  let i = heap.length;
  heap.push(value);
  while (i > 0) {
    const parent = (i - 1) >> 1;
    const p = heap[parent] as number;
    if (p <= value) break;
    heap[i] = p;
    i = parent;
  }
  heap[i] = value;
}

/** Removes the smallest value (`heap[0]`); does nothing on an empty heap. */
export function heapPop(heap: number[]): void {
  const last = heap.pop();
  const n = heap.length;
  if (last === undefined || n === 0) return;
  let i = 0;
  for (;;) {
    let child = 2 * i + 1;
    if (child >= n) break;
    if (child + 1 < n && (heap[child + 1] as number) < (heap[child] as number)) child++;
    const c = heap[child] as number;
    if (c >= last) break;
    heap[i] = c;
    i = child;
  }
  heap[i] = last;
}
