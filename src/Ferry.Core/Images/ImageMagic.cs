namespace Ferry.Images;

/// <summary>The framing magics that precede an image's type magic (images v1.1).</summary>
public static class ImageMagic
{
    /// <summary>Precedes the type magic of every ordinary image except inventory.</summary>
    public const uint Common = 0x54564319;

    /// <summary>Precedes the type magic of service images (stats, irmap-cache).</summary>
    public const uint Service = 0x55105940;

    /// <summary>Value of inventory_entry.img_version for images v1.1 (the only version Ferry writes).</summary>
    public const uint ImagesV1_1 = 2;
}
