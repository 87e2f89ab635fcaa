/** An image that cannot be made runnable here; the message says why and what to do. */
export class ImagePullError extends Error {
  override name = "ImagePullError";
}
