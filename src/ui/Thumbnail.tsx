import { useEffect, useState } from 'react';

interface ThumbnailProps {
  /** Null while the image is not there yet (a hub entry whose thumbnail is still being fetched). */
  blob: Blob | null;
  alt: string;
  className?: string;
}

/** An image from a Blob (gallery thumbnails are JPEG Blobs in IndexedDB). */
export function Thumbnail({ blob, alt, className }: ThumbnailProps) {
  const [url, setUrl] = useState<string | null>(null);
  useEffect(() => {
    if (!blob) return setUrl(null);
    const u = URL.createObjectURL(blob);
    setUrl(u);
    return () => URL.revokeObjectURL(u);
  }, [blob]);
  return url ? <img src={url} alt={alt} className={className} loading="lazy" /> : <span className={className} role="img" aria-label={alt} />;
}
